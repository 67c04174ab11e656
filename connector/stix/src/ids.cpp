#include "kfc/stix/ids.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <vector>

// The low-level SHA-1 functions are deprecated in OpenSSL 3 in favour of EVP; they are what the
// prefix reuse below needs (connector/stix/README.md, "How ids are hashed").
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "json_escape.h"
#include "kfc/stix/pystr.h"

namespace kfc::stix {
namespace {

constexpr std::array<unsigned char, 16> kNamespaceBytes = {
    0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7};

constexpr char kHex[] = "0123456789abcdef";

// "00".."ff": two digits a byte from one table, not two look-ups and shifts.
constexpr std::array<char, 512> kHexPairs = [] {
  std::array<char, 512> pairs{};
  for (std::size_t b = 0; b < 256; ++b) {
    pairs[2 * b] = kHex[b >> 4];
    pairs[2 * b + 1] = kHex[b & 0x0F];
  }
  return pairs;
}();

void append_uuid(const unsigned char* b, std::string& out) {
  char text[36];
  char* p = text;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    std::memcpy(p, &kHexPairs[2 * std::size_t{b[i]}], 2);
    p += 2;
  }
  out.append(text, sizeof text);
}

// SHA-1 of the digest inputs (connector/stix/README.md, "How ids are hashed"), through the low-level
// SHA1_* functions of libcrypto, not EVP: an EVP digest costs a provider dispatch, an init and a
// cleanse per id, about as much as hashing a short id, and its context cannot be copied without an
// allocation. A plain SHA_CTX is a value, so the state after the first one or two 64-byte blocks of
// an input is kept and reused for a later input that starts with the same bytes: the relationships
// of one indicator share their first 127 bytes, so most of them need one block instead of three.
// The output is SHA-1's, whichever path computed it.
class Sha1 {
 public:
  static constexpr std::size_t kBlock = 64;
  static constexpr std::size_t kCachedBlocks = 2;  // per prefix
  static constexpr std::size_t kPrefixes = 8;      // the relationship kinds of one indicator fit

  void digest(std::string_view data, unsigned char (&out)[SHA_DIGEST_LENGTH]) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    const std::size_t full = std::min(data.size() / kBlock, kCachedBlocks);
    // The cached prefix sharing the most leading blocks with `data`.
    std::size_t reused = 0;
    const Prefix* from = nullptr;
    for (const Prefix& p : prefixes_) {
      std::size_t same = 0;
      const std::size_t comparable = std::min(p.blocks, full);
      while (same < comparable && std::memcmp(p.bytes + same * kBlock, bytes + same * kBlock, kBlock) == 0) ++same;
      if (same > reused) {
        reused = same;
        from = &p;
        if (reused == full) break;
      }
    }
    SHA_CTX ctx;
    if (from != nullptr) {
      ctx = from->after[reused - 1];
    } else if (SHA1_Init(&ctx) != 1) {
      fail();
    }
    if (reused < full) {  // the blocks no prefix had: hashed one by one and remembered
      Prefix& p = prefixes_[next_];
      next_ = (next_ + 1) % kPrefixes;
      if (from != nullptr && from != &p) std::copy_n(from->after, reused, p.after);
      for (std::size_t block = reused; block < full; ++block) {
        if (SHA1_Update(&ctx, bytes + block * kBlock, kBlock) != 1) fail();
        p.after[block] = ctx;
      }
      std::memcpy(p.bytes, bytes, full * kBlock);
      p.blocks = full;
    }
    if (SHA1_Update(&ctx, bytes + full * kBlock, data.size() - full * kBlock) != 1 || SHA1_Final(out, &ctx) != 1)
      fail();
  }

 private:
  struct Prefix {
    std::size_t blocks = 0;  // leading blocks remembered; 0: an empty slot
    unsigned char bytes[kCachedBlocks * kBlock];
    SHA_CTX after[kCachedBlocks];  // the state after block 1, block 2
  };

  [[noreturn]] static void fail() { throw std::runtime_error("OpenSSL SHA-1 failed while computing a STIX id"); }

  std::array<Prefix, kPrefixes> prefixes_{};
  std::size_t next_ = 0;
};

// The digest input being built: namespace bytes, then the canonical JSON. One buffer per thread,
// reused, so building an id allocates only the returned string.
std::string& digest_input() {
  thread_local std::string buffer;
  buffer.assign(reinterpret_cast<const char*>(kNamespaceBytes.data()), kNamespaceBytes.size());
  return buffer;
}

// "<type>--" + uuid5 of the digest input (namespace || canonical) in `input`.
std::string id_from_input(std::string_view type, std::string_view input) {
  thread_local Sha1 sha1;
  unsigned char digest[SHA_DIGEST_LENGTH];
  sha1.digest(input, digest);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);
  std::string out;
  out.reserve(type.size() + 2 + 36);
  out.append(type);
  if (!type.empty()) out.append("--");
  append_uuid(digest, out);
  return out;
}

std::string id_from_digest_input(std::string_view type, std::string_view canonical) {
  std::string& input = digest_input();
  input.append(canonical);
  return id_from_input(type, input);
}

// True when no byte of s needs an escape.
bool is_plain(std::string_view s) { return detail::plain_prefix(s.data(), s.size()) == s.size(); }

// The RFC 8785 text of a flat object of string members already sorted by key, appended to `out`.
// With kPlainKeys the keys are written as they are: the id functions below name the contributing
// properties with literals that need no escape.
template <bool kPlainKeys = false>
void append_canonical_object(std::span<const Member> sorted_members, std::string& out) {
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : sorted_members) {
    if (!first) out.push_back(',');
    first = false;
    if constexpr (kPlainKeys) {
      out.push_back('"');
      out.append(key);
      out.append("\":");
    } else {
      append_canonical_string(key, out);
      out.push_back(':');
    }
    append_canonical_string(value, out);
  }
  out.push_back('}');
}

// Canonical JSON of a flat object whose members the caller gives already sorted by key (every id
// function below does), written straight after the namespace bytes.
std::string id_of_sorted_members(std::string_view type, std::initializer_list<Member> sorted_members) {
  std::string& input = digest_input();
  append_canonical_object<true>({sorted_members.begin(), sorted_members.size()}, input);
  return id_from_input(type, input);
}

// What may stand in an id: the type's characters, the uuid's hex digits.
enum : unsigned char { kTypeChar = 1, kHexDigit = 2 };
constexpr std::array<unsigned char, 256> kIdChars = [] {
  std::array<unsigned char, 256> classes{};
  for (char c = 'a'; c <= 'z'; ++c) classes[static_cast<unsigned char>(c)] |= kTypeChar;
  for (char c = '0'; c <= '9'; ++c) classes[static_cast<unsigned char>(c)] |= kTypeChar | kHexDigit;
  classes['-'] |= kTypeChar;
  for (char c = 'a'; c <= 'f'; ++c) classes[static_cast<unsigned char>(c)] |= kHexDigit;
  for (char c = 'A'; c <= 'F'; ++c) classes[static_cast<unsigned char>(c)] |= kHexDigit;
  return classes;
}();

bool is(char c, unsigned char kind) { return (kIdChars[static_cast<unsigned char>(c)] & kind) != 0; }

}  // namespace

std::string uuid5(std::string_view text) { return id_from_digest_input("", text); }

std::string uuid4() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed to produce a bundle id");
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  std::string out;
  out.reserve(36);
  append_uuid(b, out);
  return out;
}

std::string bundle_id() { return "bundle--" + uuid4(); }

void append_canonical_string(std::string_view s, std::string& out) {
  out.push_back('"');
  if (is_plain(s)) {  // nearly always: ids, names, hashes
    out.append(s);
    out.push_back('"');
    return;
  }
  for (std::size_t i = 0;;) {
    const std::size_t plain = detail::plain_prefix(s.data() + i, s.size() - i);
    out.append(s.data() + i, plain);
    i += plain;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i++]);
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case 0x08: out.append("\\b"); break;
      case 0x09: out.append("\\t"); break;
      case 0x0A: out.append("\\n"); break;
      case 0x0C: out.append("\\f"); break;
      case 0x0D: out.append("\\r"); break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0x0F]);
    }
  }
  out.push_back('"');
}

std::string canonical_json(std::initializer_list<Member> members) {
  std::vector<Member> sorted(members);
  std::sort(sorted.begin(), sorted.end(),
            [](const Member& a, const Member& b) { return a.first < b.first; });
  std::string out;
  append_canonical_object(sorted, out);
  return out;
}

std::string deterministic_id(std::string_view type, std::string_view canonical) {
  return id_from_digest_input(type, canonical);
}

std::string identity_id(std::string_view name, std::string_view identity_class) {
  const std::string cls = py_lower(identity_class);
  const std::string n = py_norm(name);
  return id_of_sorted_members("identity", {{"identity_class", cls}, {"name", n}});
}

std::string threat_actor_id(std::string_view name, bool legacy) {
  const std::string n = py_norm(name);
  if (legacy) return id_of_sorted_members("threat-actor", {{"name", n}});
  return id_of_sorted_members("threat-actor", {{"name", n}, {"opencti_type", "threat-actor"}});
}

std::string malware_id(std::string_view name) {
  const std::string n = py_norm(name);
  return id_of_sorted_members("malware", {{"name", n}});
}

std::string location_id(std::string_view name, std::string_view location_type) {
  const std::string n = py_norm(name);
  return id_of_sorted_members("location", {{"name", n}, {"x_opencti_location_type", location_type}});
}

std::string report_id(std::string_view name, std::string_view published) {
  const std::string n = py_norm(name);
  return id_of_sorted_members("report", {{"name", n}, {"published", published}});
}

std::string indicator_id(std::string_view pattern, bool legacy) {
  return id_of_sorted_members("indicator", {{"pattern", legacy ? pattern : py_strip(pattern)}});
}

std::string relationship_id(std::string_view relationship_type, std::string_view source_ref,
                            std::string_view target_ref) {
  return id_of_sorted_members("relationship", {{"relationship_type", relationship_type},
                                               {"source_ref", source_ref},
                                               {"target_ref", target_ref}});
}

std::string value_sco_id(std::string_view type, std::string_view value) {
  return id_of_sorted_members(type, {{"value", value}});
}

std::string file_id_from_one(std::string_view algorithm, std::string_view value) {
  std::string& input = digest_input();
  input.append("{\"hashes\":{");
  append_canonical_string(algorithm, input);
  input.push_back(':');
  append_canonical_string(value, input);
  input.append("}}");
  return id_from_input("file", input);
}

std::string file_id(std::initializer_list<Member> hashes) {
  if (hashes.size() == 0) throw std::invalid_argument("file_id needs at least one hash");
  for (const std::string_view preferred : {"MD5", "SHA-1", "SHA-256", "SHA-512"}) {
    for (const auto& [alg, value] : hashes)
      if (alg == preferred) return file_id_from_one(alg, value);
  }
  return file_id_from_one(hashes.begin()->first, hashes.begin()->second);
}

std::string_view id_type(std::string_view id) noexcept {
  const std::size_t pos = id.find("--");
  return pos == std::string_view::npos ? std::string_view{} : id.substr(0, pos);
}

bool is_valid_id(std::string_view id) noexcept {
  const std::size_t pos = id.find("--");
  if (pos == std::string_view::npos || pos == 0) return false;
  const std::string_view type = id.substr(0, pos);
  if (type.front() == '-' || type.back() == '-') return false;
  for (const char c : type)
    if (!is(c, kTypeChar)) return false;
  const std::string_view uuid = id.substr(pos + 2);
  if (uuid.size() != 36) return false;
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    const bool dash = (i == 8 || i == 13 || i == 18 || i == 23);
    if (dash ? uuid[i] != '-' : !is(uuid[i], kHexDigit)) return false;
  }
  return true;
}

}  // namespace kfc::stix
