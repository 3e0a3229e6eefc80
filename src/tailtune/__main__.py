"""``python -m tailtune``: the same command line as the ``tailtune`` script."""

from tailtune.cli import main

if __name__ == "__main__":
    main()
