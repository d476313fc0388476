"""Infusion courses: the pure planner (which dates a course gets, planner), the course services
(propose, book, move, cancel, maintenance; services) and the staff course pages (views, forms)."""
