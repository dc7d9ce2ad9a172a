"""How people are named on screen and in logs."""


def display_name(user) -> str:
    """Full name, else the login name."""
    return user.get_full_name() or user.username
