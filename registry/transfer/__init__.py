"""Excel/CSV transfer of the inventory: template, import (all or nothing) and export. Depends on assets, never the reverse."""
