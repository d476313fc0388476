"""Demo and benchmark data: the demo clinic (seed, `manage.py seed_demo`) and the scale data for
the bench (scale_data, `manage.py seed_scale`). demo may import every app; no app imports demo."""
