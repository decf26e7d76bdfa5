"""Make `ansible_collections.vmbackup.azure` importable from the checkout in tests.

`make setup` links the repository as .collections/ansible_collections/vmbackup/azure. Ansible's own
collection finder is installed first (as `ansible-test units` does), so plugins imported by tests
and plugins loaded by Ansible inside the same process see one consistent collection.
"""

from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".collections")

os.environ.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # noqa: E402

_AnsibleCollectionFinder(paths=[COLLECTIONS], scan_sys_paths=True)._install()
