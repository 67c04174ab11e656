#pragma once
// How pycti's OpenCTIStix2Splitter cuts a bundle into one message per object
// (connector/sinks/README.md): each object counted by its dependencies (1 + the recursive count
// through every *_ref / *_refs key that names an object of the bundle), published in ascending
// count (stable), each in its own bundle {"type","id","spec_version","x_opencti_seq","objects"}.
// Like pycti it adds "nb_deps" to the object, de-duplicates *_refs, external_references and
// kill_chain_phases, drops references to unsupported types and cycles (a *_ref becomes null), and
// leaves out relationships without source/target and sightings without sighting_of/where_sighted.
#include <string>
#include <vector>

#include "kfc/stix/bundle.h"

namespace kfc::sinks {

struct SplitMessage {
  int nb_deps = 0;         // also the bundle's x_opencti_seq
  std::string object_id;
  std::string bundle_json; // the one-object bundle, as the message content carries it
};

// Messages in publication order; their number is the work's expectation count.
std::vector<SplitMessage> split_bundle(const stix::Bundle& bundle);

// True for the STIX types pycti can import (ids of other types are dropped from *_refs).
bool is_supported_stix_type(std::string_view type);

// The whole bundle as one message content (for workers that split themselves).
std::string whole_bundle_json(const stix::Bundle& bundle);

}  // namespace kfc::sinks
