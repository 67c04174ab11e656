// pycti settings a user brings from other connectors: CONNECTOR_SEND_TO_* map to the outputs, the
// ones this connector does not use get one notice each, the metric name prefix is checked.
#include <gtest/gtest.h>

#include "config_test_support.h"

namespace kfc {
namespace {

using namespace kfc::testing;

Environment with(std::initializer_list<std::pair<const std::string, std::string>> extra) {
  Environment env = valid_environment();
  for (const auto& [name, value] : extra) env[name] = value;
  return env;
}

TEST(SendTo, DefaultsKeepTheOpenCtiOutputAlone) {
  const LoadResult result = load("", valid_environment());
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_EQ(result.settings.connector.output, OutputKind::OpenCti);
  EXPECT_TRUE(result.settings.connector.mirror_dir.empty());
  EXPECT_EQ(result.settings.connector.directory_retention_days, 0);
}

TEST(SendTo, DirectoryWithoutQueueIsTheDirectoryOutputWithRetention) {
  const LoadResult result = load("", with({{"CONNECTOR_SEND_TO_QUEUE", "false"},
                                           {"CONNECTOR_SEND_TO_DIRECTORY", "true"},
                                           {"CONNECTOR_SEND_TO_DIRECTORY_PATH", "/tmp/bundles"},
                                           {"CONNECTOR_SEND_TO_DIRECTORY_RETENTION", "3"}}));
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_EQ(result.settings.connector.output, OutputKind::Directory);
  EXPECT_EQ(result.settings.connector.output_dir, "/tmp/bundles");
  EXPECT_EQ(result.settings.connector.directory_retention_days, 3);
  EXPECT_TRUE(result.settings.connector.mirror_dir.empty());
}

TEST(SendTo, DirectoryWithQueueMirrorsEveryBundle) {
  const LoadResult result = load("", with({{"CONNECTOR_SEND_TO_DIRECTORY", "true"},
                                           {"CONNECTOR_SEND_TO_DIRECTORY_PATH", "/tmp/bundles"}}));
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_EQ(result.settings.connector.output, OutputKind::OpenCti);
  EXPECT_EQ(result.settings.connector.mirror_dir, "/tmp/bundles");
  EXPECT_EQ(result.settings.connector.directory_retention_days, 7);  // pycti's default
}

TEST(SendTo, ContradictionsAreErrorsNamingTheKeys) {
  const LoadResult nowhere = load("", with({{"CONNECTOR_SEND_TO_QUEUE", "false"}}));
  EXPECT_TRUE(mentions(nowhere.errors, "connector.send_to_queue is false")) << joined(nowhere.errors);
  const LoadResult no_path = load("", with({{"CONNECTOR_SEND_TO_DIRECTORY", "true"}}));
  EXPECT_TRUE(mentions(no_path.errors, "connector.send_to_directory_path is not set")) << joined(no_path.errors);
}

TEST(PyctiNotices, EachUnusedPyctiVariableIsNamedOnce) {
  const LoadResult result = load("connector:\n  live_stream_id: live\n",
                                 with({{"CONNECTOR_LISTEN_PROTOCOL", "API"},
                                       {"CONNECTOR_VALIDATE_BEFORE_IMPORT", "true"},
                                       {"CONNECTOR_AUTO_UPDATE", "true"},
                                       {"QUEUE_PROTOCOL", "amqp"}}));
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_TRUE(result.warnings.empty()) << joined(result.warnings);
  ASSERT_EQ(result.notices.size(), 5u) << joined(result.notices);
  for (const char* name : {"CONNECTOR_LISTEN_PROTOCOL is a pycti setting this connector does not use",
                           "CONNECTOR_VALIDATE_BEFORE_IMPORT is a pycti setting", "CONNECTOR_AUTO_UPDATE is a pycti",
                           "connector.live_stream_id in config.yml is a pycti setting", "QUEUE_PROTOCOL is pycti's old name"}) {
    EXPECT_TRUE(mentions(result.notices, name)) << name << "\n" << joined(result.notices);
  }
}

TEST(PyctiNotices, AMistypedOwnVariableStillGetsItsWarning) {
  const LoadResult result = load("", with({{"CONNECTOR_AUTOO", "true"}}));
  EXPECT_TRUE(mentions(result.warnings, "did you mean CONNECTOR_AUTO")) << joined(result.warnings);
}

TEST(MetricsPrefix, MustFitAPrometheusName) {
  EXPECT_TRUE(load("", with({{"CONNECTOR_METRICS_NAMESPACE", "opencti"}, {"CONNECTOR_METRICS_SUBSYSTEM", "kfc_1"}})).ok());
  const LoadResult bad = load("", with({{"CONNECTOR_METRICS_NAMESPACE", "open-cti"}}));
  EXPECT_TRUE(mentions(bad.errors, "connector.metrics_namespace is 'open-cti'")) << joined(bad.errors);
}

TEST(KeyDocs, EveryKeyIsDescribedAndTyped) {
  for (const auto& doc : key_docs()) {
    EXPECT_FALSE(doc.description.empty()) << doc.key << " has no description: add .doc(\"...\") in config/src/loader.cpp";
    EXPECT_EQ(doc.env_name, env_name_for(doc.key));
    if (doc.secret) {
      EXPECT_TRUE(doc.default_value.empty()) << doc.key;
    }
  }
}

}  // namespace
}  // namespace kfc
