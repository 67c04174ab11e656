#pragma once
// The OpenCTI catalogue metadata of this connector, generated from the loader's key table (key_docs())
// so that it cannot drift from what the connector reads. One folder per connector type, laid out as
// OpenCTI's connectors repository lays them out:
//   external-import/kaspersky-feeds/__metadata__/         the feed connector (EXTERNAL_IMPORT)
//   internal-enrichment/kaspersky-opentip/__metadata__/   the OpenTIP enrichment (INTERNAL_ENRICHMENT)
// each with connector_manifest.json, connector_config_schema.json (JSON Schema 2020-12, one property
// per environment variable) and CONNECTOR_CONFIG_DOC.md. `kaspersky-feeds-connector metadata --write
// deploy/opencti` (the `metadata` build target) regenerates them; `--check` compares.
#include <string>
#include <vector>

namespace kfc::catalogue {

struct MetadataFile {
  std::string path;     // relative to the metadata root (deploy/opencti)
  std::string content;
};

// Every file, in a stable order.
std::vector<MetadataFile> metadata_files();

}  // namespace kfc::catalogue
