from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Models must be loaded first: review_hooks imports them, so it waits for ready().
        from scheduling import review_hooks

        review_hooks.register()
