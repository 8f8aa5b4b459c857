#ifndef OZGTRACK_CISAL_SHIM_H
#define OZGTRACK_CISAL_SHIM_H

// ISA-L (Debian libisal-dev): the fast deflate and CRC-32 of the XLSX report's Daten rows, which ozgtrack compresses
// itself while the report runs (see Sources/Exporters/XLSX/XLSXDeflate.swift for why not zlib there).
#include <isa-l/igzip_lib.h>
#include <isa-l/crc.h>

// The level-1 buffer size ISA-L suggests (a macro expression Swift does not import).
static const unsigned int ozgtrack_isal_level1_buffer = ISAL_DEF_LVL1_DEFAULT;

#endif
