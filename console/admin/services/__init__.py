"""The admin service layer: one module per area, where validation and every write live. The
admin pages and the ``/api/admin`` JSON API both call these functions, never the tables."""
