"""`python -m og_chat.cli`: the same as the `og-chat` command."""

import sys

from .main import main

sys.exit(main())
