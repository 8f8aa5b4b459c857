#ifndef OZGTRACK_CLIBXML_SHIM_H
#define OZGTRACK_CLIBXML_SHIM_H

// libxml2 defines LIBXML_ICU_ENABLED on Debian, which makes its headers include ICU. Foundation brings its
// own ICU module and the two clash ("... is not present in definition of 'enum UErrorCode'"), so the
// version header comes first and the ICU switch is turned off before anything else is included.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlwriter.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlIO.h>

/// `xmlFree` is a global function pointer variable, which Swift 6's strict concurrency rejects; this
/// wrapper is a plain function.
static inline void ozg_xmlFree(void *pointer) {
    xmlFree(pointer);
}

#endif
