#include <gtest/gtest.h>

#include "kfc/opentip/query.h"

namespace kfc::opentip {
namespace {

Query must_classify(std::string_view value) {
  auto query = classify(value);
  EXPECT_TRUE(query.has_value()) << value << ": " << (query ? "" : query.error());
  return query.value_or(Query{ValueKind::Domain, ""});
}

TEST(Classify, HashesByLengthLowerCased) {
  EXPECT_EQ(must_classify("44D88612FEA8A8F36DE82E1278ABB02F"), (Query{ValueKind::Md5, "44d88612fea8a8f36de82e1278abb02f"}));
  EXPECT_EQ(must_classify("3395856ce81f2b7382dee72602f798b642f14140").kind, ValueKind::Sha1);
  EXPECT_EQ(must_classify("275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f").kind, ValueKind::Sha256);
  EXPECT_EQ(must_classify("  44d88612fea8a8f36de82e1278abb02f\n").value, "44d88612fea8a8f36de82e1278abb02f");
}

TEST(Classify, IpAddresses) {
  EXPECT_EQ(must_classify("203.0.113.66"), (Query{ValueKind::Ipv4, "203.0.113.66"}));
  EXPECT_EQ(must_classify("2001:DB8:0:0::1"), (Query{ValueKind::Ipv6, "2001:db8::1"}));
}

TEST(Classify, DomainsLowerCasedWithoutFinalDot) {
  EXPECT_EQ(must_classify("Phish.Example.COM."), (Query{ValueKind::Domain, "phish.example.com"}));
  EXPECT_EQ(must_classify("xn--80ak6aa92e.com").kind, ValueKind::Domain);
}

TEST(Classify, UrlsWithOrWithoutScheme) {
  EXPECT_EQ(must_classify("http://phish.example.com/login.php"),
            (Query{ValueKind::Url, "http://phish.example.com/login.php"}));
  EXPECT_EQ(must_classify("https://203.0.113.66:8443/x?y=1").kind, ValueKind::Url);
  EXPECT_EQ(must_classify("https://[2001:db8::1]/a").kind, ValueKind::Url);
  EXPECT_EQ(must_classify("example.com/path/file.exe").kind, ValueKind::Url);
}

TEST(Classify, EndpointAndCacheKey) {
  EXPECT_EQ(must_classify("8.8.8.8").endpoint(), Endpoint::Ip);
  EXPECT_EQ(must_classify("2001:db8::1").endpoint(), Endpoint::Ip);
  EXPECT_EQ(must_classify("44d88612fea8a8f36de82e1278abb02f").cache_key(), "hash:44d88612fea8a8f36de82e1278abb02f");
  EXPECT_EQ(must_classify("Example.com").cache_key(), "domain:example.com");
}

TEST(Classify, RejectsWhatCannotBeLookedUpWithAReason) {
  for (std::string_view bad : {"", "   ", "not a value", "localhost", "1.2.3", "256.1.1.1", "44d88612fea8a8f36de82e1278abb02",
                               "zz d8", "-bad-.com", "a..b.com", "ftp:/", "gopher://example.com/", "exa\x01mple.com"}) {
    auto query = classify(bad);
    EXPECT_FALSE(query.has_value()) << "accepted: " << bad;
    if (!query) {
      EXPECT_FALSE(query.error().empty());
    }
  }
  EXPECT_NE(classify("not-a-thing").error().find("not-a-thing"), std::string::npos);
  EXPECT_NE(classify(std::string(3000, 'a')).error().find("longer than"), std::string::npos);
}

}  // namespace
}  // namespace kfc::opentip
