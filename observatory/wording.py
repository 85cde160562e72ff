"""French wording shared by several layers (demo job, app, PDF): one copy of each sentence.

Only texts that more than one module shows live here; a page's own sentences stay in the page.
"""

from __future__ import annotations

__all__ = ["DEMO_BANNER", "REAL_DATA_COMMAND"]

#: Shown on every page, export and PDF built from demonstration snapshots.
DEMO_BANNER = ("Données fictives de démonstration, générées sur la géographie réelle de la "
               "France (communes, populations et EPCI officiels)")

#: How staff load real data (shown to staff: the demo job's last line, the staff and Méthode
#: pages; never to élus).
REAL_DATA_COMMAND = ("python -m observatory download sirene, puis python -m observatory refresh "
                     "--sirene-dir DOSSIER_DES_FICHIERS --quarter 2026-T4 --departement 21")
