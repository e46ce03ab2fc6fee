"""`ragtune eval`: every serving mode measured on the user's own questions."""
