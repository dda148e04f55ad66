"""The pages and the page code they share: process-wide resources, the visitor's session, widgets.

``draw_page.py`` and ``evaluate_page.py`` are the pages (scripts that
``app.py`` navigates between); ``resources``, ``session`` and ``widgets``
are modules they import. ``knn`` never imports from here.
"""
