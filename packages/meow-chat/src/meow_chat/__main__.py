"""`python -m meow_chat`."""

from meow_chat.cli import main

if __name__ == "__main__":
    main()
