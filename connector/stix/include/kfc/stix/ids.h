#pragma once
// Deterministic STIX ids (connector/stix/README.md): OpenCTI/pycti uuid5 ids of SDOs and
// relationships, stix2 ids of SCOs (same namespace, RFC 8785 canonical JSON of the contributing
// properties), and random uuid4 ids for bundles.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace kfc::stix {

// OpenCTI's namespace (stix2 SCO_DET_ID_NAMESPACE), 00abedb4-aa42-466c-9c01-fed23315a9b7.
inline constexpr std::string_view kNamespace = "00abedb4-aa42-466c-9c01-fed23315a9b7";

// uuid5(kNamespace, text) as lower-case 8-4-4-4-12 hex.
std::string uuid5(std::string_view text);
// A random (version 4) uuid from OpenSSL's CSPRNG.
std::string uuid4();
// "bundle--<uuid4>".
std::string bundle_id();

// A JSON member for the canonical form: key and string value (raw UTF-8, unescaped).
using Member = std::pair<std::string_view, std::string_view>;
// RFC 8785 text of a flat object of string members (sorted by key here; keys are ASCII).
std::string canonical_json(std::initializer_list<Member> members);
// Appends a JSON string literal escaped the way stix2's canonicalize does.
void append_canonical_string(std::string_view s, std::string& out);

// "<type>--" + uuid5(canonical) .
std::string deterministic_id(std::string_view type, std::string_view canonical);

// pycti generate_id functions as the connector calls them (pycti >= 6.7 behaviour).
std::string identity_id(std::string_view name, std::string_view identity_class);
// legacy = pycti < 6.4 ({"name"} only); otherwise opencti_type "threat-actor" contributes.
std::string threat_actor_id(std::string_view name, bool legacy = false);
std::string malware_id(std::string_view name);
// location_type is "Country" or "Region"; name is the ISO code or the STIX region code.
std::string location_id(std::string_view name, std::string_view location_type);
std::string report_id(std::string_view name, std::string_view published);
// legacy = pycti < 6.7 (pattern hashed verbatim, not stripped).
std::string indicator_id(std::string_view pattern, bool legacy = false);
std::string relationship_id(std::string_view relationship_type, std::string_view source_ref,
                            std::string_view target_ref);

// stix2 SCO ids: ipv4-addr, domain-name, url (and any other value-keyed SCO).
std::string value_sco_id(std::string_view type, std::string_view value);
// File id from the one preferred hash: MD5, else SHA-1, else SHA-256, else SHA-512, else the
// first given. `hashes` are (algorithm, value) in insertion order.
std::string file_id(std::initializer_list<Member> hashes);
std::string file_id_from_one(std::string_view algorithm, std::string_view value);

// True for "<type>--<uuid>" where type is [a-z0-9-]+ (no leading/trailing '-') and uuid is
// 8-4-4-4-12 hex digits (what stix2 accepts as an identifier).
bool is_valid_id(std::string_view id) noexcept;
// The "<type>" part of an id ("" if there is no "--").
std::string_view id_type(std::string_view id) noexcept;

}  // namespace kfc::stix
