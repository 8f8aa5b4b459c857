#!/bin/sh
# Regenerates the packed form of the built-in catalogue (Sources/OZGCore/Catalogue/Packed/) from the plain files
# of catalogue/, which stay the source of truth. Run it after changing anything in catalogue/ and commit both;
# PackedCatalogueTests fail while the two disagree. See PackedCatalogue.swift for the form and why it exists.
set -eu
cd "$(dirname "$0")/.."
swift build --product ozgtrack
"$(swift build --show-bin-path)/ozgtrack" catalogue pack catalogue --output Sources/OZGCore/Catalogue/Packed
