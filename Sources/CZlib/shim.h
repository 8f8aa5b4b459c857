#ifndef OZGTRACK_CZLIB_SHIM_H
#define OZGTRACK_CZLIB_SHIM_H

// zlib (Debian zlib1g-dev): raw deflate and CRC-32 for the XLSX report's Daten sheets, which ozgtrack compresses
// itself (see Sources/Exporters/XLSX/XLSXPackage.swift for why).
#include <zlib.h>

#endif
