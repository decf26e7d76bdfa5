"""Make `ansible_collections.vmbackup.azure` importable from the checkout in tests.

`make setup` links the repository as .collections/ansible_collections/vmbackup/azure; the
bundled collections of the `ansible` package stay importable too (namespace package).
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".collections")

if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

os.environ.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))
