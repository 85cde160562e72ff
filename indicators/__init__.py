"""Indicators of the ESS per territory: pure functions, no I/O, no Streamlit.

Modules (one family of measures each; every function takes frames and returns data indexed
by territory code):

=================  ==========================================================================
``registry``       :data:`~indicators.registry.INDICATORS`: French labels, units, extensive /
                   intensive kind, numerator / denominator of every indicator
``checks``         COG vintage, CRS, text codes, columns: run before any computation
``prepare``        encodes the structures once (Arrow look-ups) for the fast path
``sectors``        ESS sector grouping of NAF codes
``counts``         counts per commune by family, NAF section, ESS sector
``employment``     employment estimate from SIRENE headcount bands, band year
``coverage``       distance to the nearest structure, covered population, population beyond
                   5/10/15/20 km
``rollup``         one roll-up for every level and for user-defined groups
``table``          :func:`~indicators.table.indicator_table`, the main table (CLI, app)
``rural``          split of every indicator by the grille communale de densité
``zones``          zones blanches (rural areas far from any structure of a kind)
``concentration``  location quotients, Herfindahl–Hirschman index
``hotspots``       local Getis-Ord Gi* and local Moran's I (PySAL), FDR, seeded
``change``         new / closed / moved structures between two snapshots
``ranks``          rank of a territory among its peers
=================  ==========================================================================
"""

__all__: list[str] = []
