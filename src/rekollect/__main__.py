"""``python -m rekollect`` is the ``rekollect`` command."""

from .cli import main

main()
