"""Distances on the ground, and how far from a toilet a photo may be taken."""

import math

EARTH_RADIUS_METRES = 6_371_000
# A photo (inspection or after-photo) further than this (strictly) from its reference point
# is taken somewhere else: flagged for the township.
FAR_METRES = 500


def distance_metres(lat1, lon1, lat2, lon2) -> float:
    """Great-circle (haversine) distance between two points given in degrees (Decimal or
    float), in metres."""
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    dphi = phi2 - phi1
    dlambda = math.radians(float(lon2) - float(lon1))
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_METRES * math.asin(min(1.0, math.sqrt(a)))
