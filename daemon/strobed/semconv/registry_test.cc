#include "strobed/semconv/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "strobed/semconv/testing.h"

namespace strobed::semconv {
namespace {

#define STROBE_REQUIRE_MODEL(dir)                                               \
  std::string dir = SharedModelDirForTest();                                    \
  if (dir.empty()) {                                                            \
    if (RunningInCi()) FAIL() << "../shared/semconv/model not found (CI=true)"; \
    GTEST_SKIP() << "../shared/semconv/model not found; set STROBE_SHARED_DIR"; \
  }

const AttributeUse* Use(const Registry& reg, const Group& g, std::string_view attr) {
  for (const AttributeUse& u : g.attributes) {
    if (reg.attributes[u.attribute].id == attr) return &u;
  }
  return nullptr;
}

// The whole model loads. The expected counts were derived independently of this loader, with
// PyYAML over the same files (v1 files list `groups`; the six `file_format: definition/2` files
// list `attributes` by `key` and `attribute_groups`):
//   cd model && python3 -c 'import yaml,glob; ds=[yaml.safe_load(open(f)) for f in
//     glob.glob("**/*.yaml",recursive=True) if f!="manifest.yaml"]; ...'
// giving 113 groups (45 metric, 44 attribute_group incl. 3 v2, 12 span, 6 event, 6 entity), 152
// attributes defined by id/key (all distinct), 59 of them deprecated, 25 enums, 47 YAML files
// incl. the manifest. The integration test tests/integration/schema recounts them with PyYAML
// at run time and compares with /api/v1/schema.
//
// The model is a part of the real registry: rpc/spans.yaml refs two jsonrpc.* attributes whose
// registry file is not in it. Exactly those four refs are errors; everything else resolves.
TEST(RegistryTest, LoadsTheWholeSharedModel) {
  STROBE_REQUIRE_MODEL(dir);
  auto reg = LoadRegistry(dir);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  std::vector<std::string> errors;
  for (const LoadError& e : reg->errors) errors.push_back(e.ToString());
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "rpc/spans.yaml:321: group 'span.rpc.jsonrpc.call.client': ref to unknown "
                        "attribute 'jsonrpc.protocol.version'",
                        "rpc/spans.yaml:324: group 'span.rpc.jsonrpc.call.client': ref to unknown "
                        "attribute 'jsonrpc.request.id'",
                        "rpc/spans.yaml:373: group 'span.rpc.jsonrpc.call.server': ref to unknown "
                        "attribute 'jsonrpc.protocol.version'",
                        "rpc/spans.yaml:376: group 'span.rpc.jsonrpc.call.server': ref to unknown "
                        "attribute 'jsonrpc.request.id'",
                    }));
  EXPECT_EQ(reg->files.size(), 47u);
  EXPECT_EQ(reg->groups.size(), 113u);
  EXPECT_EQ(reg->CountGroups(GroupType::kMetric), 45u);
  EXPECT_EQ(reg->CountGroups(GroupType::kAttributeGroup), 44u);
  EXPECT_EQ(reg->CountGroups(GroupType::kSpan), 12u);
  EXPECT_EQ(reg->CountGroups(GroupType::kEvent), 6u);
  EXPECT_EQ(reg->CountGroups(GroupType::kEntity), 6u);
  EXPECT_EQ(reg->attributes.size(), 152u);
  // A definition/2 attribute (by `key`, in no group) and a v2 attribute group.
  const AttributeDef* port = reg->FindAttribute("server.port");
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->type.ToString(), "int");
  EXPECT_EQ(port->stability, "stable");
  EXPECT_EQ(port->group, "");
  EXPECT_EQ(port->file, "server/registry.yaml");
  const Group* server = reg->FindGroup("server");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->type, GroupType::kAttributeGroup);
  EXPECT_EQ(server->attributes.size(), 2u);
  EXPECT_EQ(std::count_if(reg->attributes.begin(), reg->attributes.end(),
                          [](const AttributeDef& a) { return a.deprecated.present; }),
            59);
  EXPECT_EQ(std::count_if(reg->attributes.begin(), reg->attributes.end(),
                          [](const AttributeDef& a) { return a.type.is_enum; }),
            25);
  EXPECT_TRUE(reg->manifest.present);
  EXPECT_EQ(reg->manifest.schema_url, "https://opentelemetry.io/schemas/1.45.0-unreleased");
  EXPECT_EQ(reg->manifest.stability, "development");

  // Deprecation with its replacement.
  const AttributeDef* m = reg->FindAttribute("http.method");
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->deprecated.present);
  EXPECT_EQ(m->deprecated.reason, "renamed");
  EXPECT_EQ(m->deprecated.renamed_to, "http.request.method");
  EXPECT_EQ(m->file, "http/deprecated/registry-deprecated.yaml");
  EXPECT_EQ(m->line, 7);

  // Enum: the HTTP method has string members; open by default.
  const AttributeDef* method = reg->FindAttribute("http.request.method");
  ASSERT_NE(method, nullptr);
  EXPECT_TRUE(method->type.is_enum);
  EXPECT_EQ(method->type.scalar, ScalarType::kString);
  EXPECT_TRUE(method->type.allow_custom_values);
  EXPECT_EQ(method->type.members.front().value, "CONNECT");
  EXPECT_EQ(method->stability, "stable");

  // Template type, int type, int-valued enum (rpc.grpc.status_code deprecated registry).
  EXPECT_EQ(reg->FindAttribute("http.request.header")->type.ToString(), "template[string[]]");
  EXPECT_EQ(reg->FindAttribute("http.response.status_code")->type.ToString(), "int");

  // extends chain: span.http.client -> attributes.http.client -> attributes.http.common.
  const Group* client = reg->FindGroup("span.http.client");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->type, GroupType::kSpan);
  EXPECT_EQ(client->span_kind, "client");
  EXPECT_EQ(client->extends, "attributes.http.client");
  // The span refs http.request.method without a level: the parent's `required` stays.
  const AttributeUse* u = Use(*reg, *client, "http.request.method");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->requirement_level, RequirementLevel::kRequired);
  EXPECT_TRUE(u->sampling_relevant);
  EXPECT_EQ(u->inherited_from, "");  // the span lists it itself
  u = Use(*reg, *client, "url.full");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->requirement_level, RequirementLevel::kRequired);
  u = Use(*reg, *client, "error.type");  // only in attributes.http.common
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->requirement_level, RequirementLevel::kConditionallyRequired);
  EXPECT_EQ(u->condition, "If request has ended with an error.");
  EXPECT_EQ(u->inherited_from, "attributes.http.common");
  u = Use(*reg, *client, "server.address");  // required by attributes.http.client
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->requirement_level, RequirementLevel::kRequired);
  u = Use(*reg, *client, "http.request.header");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->requirement_level, RequirementLevel::kOptIn);

  const Group* metric = reg->FindGroup("metric.http.server.request.duration");
  ASSERT_NE(metric, nullptr);
  EXPECT_EQ(metric->metric_name, "http.server.request.duration");
  EXPECT_EQ(metric->instrument, "histogram");
  EXPECT_EQ(metric->unit, "s");

  std::size_t events_with_names = 0;
  for (const Group& g : reg->groups) {
    if (g.type == GroupType::kEvent && !g.name.empty()) ++events_with_names;
  }
  EXPECT_EQ(events_with_names, 6u);
}

TEST(RegistryTest, ErrorsNameFileLineAndGroupAndTheRestLoads) {
  Registry reg = LoadRegistryFromStrings({
      {"a/registry.yaml",
       "groups:\n"
       "  - id: registry.a\n"  // line 2
       "    type: attribute_group\n"
       "    attributes:\n"
       "      - id: a.good\n"  // line 5
       "        type: string\n"
       "      - id: a.badtype\n"  // line 7
       "        type: strung\n"
       "      - id: a.enum\n"
       "        type:\n"
       "          allow_custom_values: false\n"
       "          members:\n"
       "            - id: one\n"
       "              value: 1\n"
       "            - id: two\n"
       "              value: 2\n"
       "      - id: a.good\n"  // line 17: duplicate
       "        type: int\n"},
      {"a/spans.yaml",
       "groups:\n"
       "  - id: span.a\n"
       "    type: span\n"
       "    span_kind: server\n"
       "    extends: nowhere\n"
       "    attributes:\n"
       "      - ref: a.good\n"
       "        requirement_level: required\n"
       "      - ref: a.missing\n"  // line 9
       "      - ref: a.enum\n"
       "        requirement_level: sometimes\n"  // line 11
       "  - id: span.b\n"
       "    type: span\n"
       "    extends: span.a\n"
       "    attributes:\n"
       "      - ref: a.enum\n"
       "        requirement_level:\n"
       "          conditionally_required: when it rains\n"},
      {"b/broken.yaml", "groups:\n  - id: x\n    type: span\n   bad: [\n"},
      {"c/cycle.yaml",
       "groups:\n"
       "  - id: g.one\n"
       "    type: attribute_group\n"
       "    extends: g.two\n"
       "  - id: g.two\n"
       "    type: attribute_group\n"
       "    extends: g.one\n"},
  });
  std::vector<std::string> got;
  for (const LoadError& e : reg.errors) got.push_back(e.ToString());
  std::vector<std::string> want = {
      "a/registry.yaml:8: group 'registry.a': attribute 'a.badtype': unknown type 'strung'",
      "a/registry.yaml:17: group 'registry.a': attribute 'a.good' defined twice (first one kept)",
      "a/spans.yaml:11: group 'span.a': requirement_level: expected required, "
      "conditionally_required, recommended or opt_in",
      "b/broken.yaml:4: YAML: end of sequence not found",
      "a/spans.yaml:2: group 'span.a': extends unknown group 'nowhere'",
      "a/spans.yaml:9: group 'span.a': ref to unknown attribute 'a.missing'",
      "c/cycle.yaml:5: group 'g.two': extends cycle through 'g.one'",
  };
  EXPECT_EQ(got, want);
  // What was fine loaded.
  EXPECT_EQ(reg.groups.size(), 5u);
  EXPECT_EQ(reg.attributes.size(), 2u);
  const AttributeDef* e = reg.FindAttribute("a.enum");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->type.allow_custom_values);
  EXPECT_EQ(e->type.scalar, ScalarType::kInt);
  EXPECT_EQ(e->type.members[1].int_value, 2);
  const Group* a = reg.FindGroup("span.a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->attributes.size(), 1u);
  EXPECT_EQ(a->attributes[0].requirement_level, RequirementLevel::kRequired);
  const Group* b = reg.FindGroup("span.b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->attributes.size(), 2u);
  EXPECT_EQ(b->attributes[0].inherited_from, "span.a");
  EXPECT_EQ(b->attributes[1].requirement_level, RequirementLevel::kConditionallyRequired);
  EXPECT_EQ(b->attributes[1].condition, "when it rains");
}

TEST(RegistryTest, DirectoryErrors) {
  EXPECT_EQ(LoadRegistry("/nonexistent/semconv").status().code(), strobe::StatusCode::kNotFound);
  auto tmp = std::filesystem::temp_directory_path() /
             ("semconv_empty_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(tmp);
  EXPECT_EQ(LoadRegistry(tmp.string()).status().code(), strobe::StatusCode::kInvalidArgument);
  { std::ofstream(tmp / "g.yaml") << "groups: []\n"; }
  auto reg = LoadRegistry(tmp.string());
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(reg->groups.size(), 0u);
  EXPECT_TRUE(reg->errors.empty());
  std::filesystem::remove_all(tmp);
}

}  // namespace
}  // namespace strobed::semconv
