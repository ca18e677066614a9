"""The Flask console: agent desktop, supervisor and admin pages, sign-in and provisioning."""
