"""The room: a lecture hall's phones send their drawings to one live wall, kept in a SQL database.

``limits`` names every limit of a room in one place; ``store`` keeps rooms,
rounds and drawings in SQLite (the default, a file under ``$KNN_CACHE``) or
PostgreSQL (``KNN_ROOM_DB``), shared by every replica of the app; ``report``
turns a room into the lecturer's follow-up (``python -m room export CODE``).
The k-NN library (``knn``) knows nothing of rooms; the pages (``ui``) use
both.
"""
