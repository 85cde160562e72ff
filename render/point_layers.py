"""Leaflet layers of points: clustered ESS structures, and plain small circles.

Clusters are **neutral dark grey discs** with the count in white (sized by the count), so that
colour on the map only ever means an ESS family: the default green / yellow / orange bubbles
of Leaflet.markercluster (``MarkerCluster.Default.css``) are not loaded.
"""

from __future__ import annotations

from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from render.map_payload import CarriesData

__all__ = ["PointsLayer", "StructuresLayer"]


class StructuresLayer(CarriesData, JSCSSMixin, Layer):
    """Clustered structures; rows ``[lat, lon, family index, nom, sector index, adresse,
    siret, precision index]`` with every text already escaped (``title``/``alt`` of a
    marker: "name – family", read by screen readers)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            // texts arrive HTML-escaped (for popups); a DOM title wants the plain text
            // (decoded only when a name holds an entity: most hold none)
            var area = document.createElement("textarea");
            var txt = function (s) {
                if (s.indexOf("&") < 0) return s; area.innerHTML = s; return area.value; };
            var fam = {{ this.payload("families") }};
            var prec = {{ this.payload("precisions") }};
            var sect = {{ this.payload("sectors") }};
            var rows = {{ this.payload("rows") }};
            var cluster = L.markerClusterGroup({maxClusterRadius: 45, chunkedLoading: true,
                showCoverageOnHover: false,
                iconCreateFunction: function (c) {
                    var n = c.getChildCount();
                    var size = n < 10 ? 26 : n < 100 ? 32 : n < 1000 ? 38 : 44;
                    return L.divIcon({className: "",
                        iconSize: L.point(size, size),
                        html: '<div class="ess-cluster" style="width:' + size + 'px;height:'
                              + size + 'px" title="' + n + ' structures">' + n + '</div>'});
                }});
            // one icon per family, shared by its markers (tens of thousands on a département)
            // a letter in a disc (families), an abbreviation in a pill (insertion types)
            var icons = fam.map(function (f) {
                var w = f[2].length < 2 ? 18 : 6 + 6 * f[2].length;
                return L.divIcon({className: "", iconSize: [w + 2, 20],
                    html: '<div class="ess-pt" style="width:' + w + 'px;height:18px;'
                          + 'border-radius:9px;font-size:' + (f[2].length < 2 ? 11 : 9)
                          + 'px;background:' + f[1] + '" aria-hidden="true">' + f[2]
                          + '</div>'}); });
            // one popup for the layer, written when a marker is clicked (or Enter pressed on
            // it), not one per marker up front
            var popup = function (layer) {
                var r = rows[layer.row], f = fam[r[2]];
                return '<b>' + r[3] + '</b><br>{{ this.noun }} : ' + f[0]
                    + '<br>Secteur : ' + sect[r[4]] + '<br>Adresse : ' + r[5]
                    + '<br>SIRET : ' + r[6] + '<br>Localisation : ' + prec[r[7]]; };
            var markers = new Array(rows.length);
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i], f = fam[r[2]];
                var label = txt(r[3]) + ' – ' + txt(f[0]);
                var mk = L.marker([r[0], r[1]], {icon: icons[r[2]], title: label, alt: label});
                mk.row = i;
                markers[i] = mk;
            }
            var shown = L.popup({offset: L.point(0, -6)});
            cluster.on("click", function (e) {
                if (e.layer.row === undefined) return;
                shown.setLatLng(e.layer.getLatLng()).setContent(popup(e.layer))
                    .openOn({{ this._parent.get_name() }}); });
            // on the map first, then one bulk insertion, processed in chunks between frames:
            // markercluster checks each marker against its pending list, a linear scan per
            // marker while the group is off the map (0.35 s for the Nord's 24 853 markers),
            // and addLayer per marker re-clusters at each call
            cluster.addTo({{ this._parent.get_name() }});
            cluster.addLayers(markers);
            return cluster;
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list, families: list, precisions: list, sectors: list, name: str,
                 urls: dict, noun: str = "Famille"):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "StructuresLayer"
        self.noun = noun  # ours, never the data's: « Famille » or « Type »
        self.rows, self.families, self.precisions = rows, families, precisions
        self.sectors = sectors
        self.default_js = [("markerclusterjs", urls["markercluster_js"])]
        self.default_css = [("markerclustercss", urls["markercluster_css"])]


class PointsLayer(CarriesData, Layer):
    """Small circle markers ``[lat, lon, name]`` (names escaped), not clustered; dark with a
    white edge so that they show on any fill."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var rows = {{ this.payload("rows") }}, markers = new Array(rows.length);
            for (var i = 0; i < rows.length; i++) {
                markers[i] = L.circleMarker([rows[i][0], rows[i][1]], {radius: 3, weight: 1,
                    color: "#ffffff", fillColor: "#1b4f72", fillOpacity: 0.9});
                markers[i].nom = rows[i][2];
            }
            // one tooltip for the layer, not one per point (thousands on a département)
            var group = L.featureGroup(markers), tip = L.tooltip({direction: "top"});
            group.on("mouseover", function (e) {
                tip.setLatLng(e.layer.getLatLng()).setContent(e.layer.nom);
                {{ this._parent.get_name() }}.openTooltip(tip); });
            group.on("mouseout", function () {
                {{ this._parent.get_name() }}.closeTooltip(tip); });
            return group;
        })();
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, rows: list, name: str):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "PointsLayer"
        self.rows = rows
