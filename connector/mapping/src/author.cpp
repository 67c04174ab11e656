// The Kaspersky author identity, the first object of every bundle and the created_by_ref of
// everything the mapping creates (README "Indicators before the transforms").
#include "mapper_impl.h"
#include "timestamps.h"

namespace kfc::mapping {

namespace {
constexpr std::string_view kAuthorDescription =
    "Kaspersky Lab develops and markets antivirus, internet security, password management, "
    "endpoint security, and other cybersecurity products and services";
}  // namespace

void Mapper::Impl::build_author() {
  author.SetObject();
  auto& a = author.GetAllocator();
  const std::string now = format_created(clock.now());
  author.AddMember("type", "identity", a);
  author.AddMember("spec_version", "2.1", a);
  author.AddMember("id", json::ref(kAuthorId), a);
  author.AddMember("created", json::copy(now, a), a);
  author.AddMember("modified", json::copy(now, a), a);
  author.AddMember("name", "Kaspersky", a);
  author.AddMember("description", json::ref(kAuthorDescription), a);
  author.AddMember("identity_class", "organization", a);
  author.AddMember("contact_information", "site: www.kaspersky.com", a);
}

}  // namespace kfc::mapping
