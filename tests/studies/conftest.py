import sys
from pathlib import Path

# the user's activation module is addressed as "user_acts:swishlike", also by spawned workers
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
