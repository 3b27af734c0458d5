import sys
from pathlib import Path

# the toy studies are addressed as "engine_toy:STUDY" (by the CLI and by spawned/Ray workers), so their
# folder must be importable whatever pytest's import mode
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
