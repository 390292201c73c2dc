//! GNSS for Gridpad (being built).
