"""Users, roles, login and department scoping."""
