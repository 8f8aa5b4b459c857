#ifndef OZGTRACK_CLIBXLSXWRITER_SHIM_H
#define OZGTRACK_CLIBXLSXWRITER_SHIM_H

// libxlsxwriter (Debian libxlsxwriter-dev): writes XLSX workbooks, in constant-memory mode row by row through
// temporary files. The umbrella header brings the workbook, worksheet, format and chart API.
#include <xlsxwriter.h>

#endif
