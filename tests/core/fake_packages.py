"""Fake registry packages of the core tests: a wheel, npm tarballs and their members."""

from __future__ import annotations


def make_tgz(members: dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_wheel(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


FAKE_NPM = {
    "decoupage_administratif": ("@etalab/decoupage-administratif", "6.0.0", {
        "package/package.json": b'{"name": "@etalab/decoupage-administratif"}',
        "package/data/communes.json": b'[{"code": "21231", "nom": "Dijon"}]'}),
    "leaflet": ("leaflet", "1.9.4", {
        "package/package.json": b'{"name": "leaflet"}',
        "package/dist/leaflet.js": b"/* fake leaflet */ window.L = {};",
        "package/dist/leaflet.css": b".leaflet-container {}",
        "package/dist/images/marker-icon.png": b"\x89PNG fake",
        "package/dist/images/layers.png": b"\x89PNG fake 2",
        "package/src/Leaflet.js": b"// not extracted"}),
    "leaflet_markercluster": ("leaflet.markercluster", "1.5.3", {
        "package/package.json": b'{"name": "leaflet.markercluster"}',
        "package/dist/leaflet.markercluster.js": b"/* fake cluster */",
        "package/dist/MarkerCluster.css": b".marker-cluster {}",
        "package/dist/MarkerCluster.Default.css": b".marker-cluster-small {}"}),
}
