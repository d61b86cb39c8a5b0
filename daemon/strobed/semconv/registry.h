#pragma once

// strobed::semconv: a semantic-convention registry loaded from the OpenTelemetry YAML model
// (the format of github.com/open-telemetry/semantic-conventions `model/`, described by Weaver's
// semconv-syntax.md): `groups` of type attribute_group, span, event, metric, entity/resource;
// attributes defined by `id` or used by `ref` with overrides; `extends` chains; attribute types
// (string, int, double, boolean, their arrays, any, template[...], enums with members and
// allow_custom_values); requirement levels; stability; deprecation (renamed_to); span_kind;
// metric instrument and unit; event names; and the registry's manifest.yaml. Files in Weaver's
// newer `file_format: definition/2` contribute their top-level `attributes` (by `key`) and
// `attribute_groups`; their other sections are reported as unsupported.
//
//   auto reg = semconv::LoadRegistry("/etc/semconv/model");
//   if (!reg.ok()) ...;                      // the directory is unusable (not found, no YAML)
//   for (const LoadError& e : reg->errors) ...  // "file:line: group 'x': message"; the rest loaded
//   const Group* g = reg->FindGroup("span.http.server");
//   for (const AttributeUse& u : g->attributes) reg->attributes[u.attribute].id ...
//
// Resolution (what Weaver's resolver computes): every attribute defined by `id` in any group
// joins the registry's attribute table; a `ref` names one of them. A group's `attributes` are
// its own entries plus those inherited through `extends` (transitively; cycles and unknown
// parents are errors). An entry of the group overrides an inherited entry of the same
// attribute field by field: fields the entry leaves out (requirement_level, brief, note,
// examples, stability) keep the inherited or defined value, so a span that refs
// http.request.method only to set sampling_relevant keeps the `required` level its parent set.
// Requirement level defaults to recommended.
//
// Errors never abort the load: a broken file (YAML syntax) is skipped, a broken group or
// attribute is skipped, and each error names file:line and the group id. Limits keep a hostile
// or accidental registry bounded: at most kMaxFiles files of at most kMaxFileBytes each.
//
// Thread class: the loader is a pure function; a loaded Registry is an immutable value,
// thread-safe to read.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"

namespace strobed::semconv {

inline constexpr std::size_t kMaxFiles = 4096;
inline constexpr std::size_t kMaxFileBytes = std::size_t{4} << 20;

enum class GroupType : uint8_t {
  kAttributeGroup,
  kSpan,
  kEvent,
  kMetric,
  kEntity,  // `entity`, and the older `resource`
  kScope,
  kOther,  // unused by loaded groups: a group of an unknown type is skipped with an error
};
std::string_view GroupTypeName(GroupType t);

// The scalar kind of an attribute value (enum members are string, int or double).
enum class ScalarType : uint8_t { kString, kInt, kDouble, kBoolean, kAny };
std::string_view ScalarTypeName(ScalarType t);

struct EnumMember {
  std::string id;
  std::string value;                            // the member's value as written (strings unquoted)
  ScalarType value_type = ScalarType::kString;  // kString, kInt or kDouble
  int64_t int_value = 0;                        // value_type == kInt
  double double_value = 0;                      // value_type == kDouble
  std::string stability;
  bool deprecated = false;
};

struct AttributeType {
  ScalarType scalar = ScalarType::kString;  // an enum's is its members' value type
  bool array = false;                       // string[], int[], double[], boolean[]
  bool is_template = false;                 // template[...]: the id is a key prefix
  bool is_enum = false;
  bool allow_custom_values = true;  // enums only (the YAML default)
  std::vector<EnumMember> members;  // enums only

  // "string", "int[]", "template[string[]]", "enum<string>", "any".
  std::string ToString() const;
};

enum class RequirementLevel : uint8_t {
  kRequired,
  kConditionallyRequired,
  kRecommended,
  kOptIn,
};
std::string_view RequirementLevelName(RequirementLevel level);

struct Deprecation {
  bool present = false;
  std::string reason;      // renamed, obsoleted, uncategorized, ... ("" when given as text)
  std::string renamed_to;  // the replacement attribute, if any
  std::string note;
};

// An attribute as defined by `id`.
struct AttributeDef {
  std::string id;
  AttributeType type;
  std::string brief;
  std::string note;
  std::string stability;
  Deprecation deprecated;
  std::vector<std::string> examples;  // rendered as YAML scalars / flow sequences
  RequirementLevel requirement_level = RequirementLevel::kRecommended;
  std::string condition;  // the text of conditionally_required / recommended
  std::string group;      // the group that defines it
  std::string file;
  int line = 0;
};

// An attribute as a group uses it (after overrides and inheritance).
struct AttributeUse {
  std::size_t attribute = 0;  // index into Registry::attributes
  RequirementLevel requirement_level = RequirementLevel::kRecommended;
  std::string condition;
  std::string brief;  // the override, or the definition's
  std::string stability;
  std::vector<std::string> examples;
  bool sampling_relevant = false;
  std::string inherited_from;  // "" when the group lists it itself
};

struct Group {
  std::string id;
  GroupType type = GroupType::kOther;
  std::string type_name;  // as written
  std::string brief;
  std::string stability;
  Deprecation deprecated;
  std::string extends;
  std::string span_kind;                 // spans: client, server, internal, producer, consumer
  std::string metric_name;               // metrics
  std::string instrument;                // metrics: counter, updowncounter, gauge, histogram
  std::string unit;                      // metrics
  std::string name;                      // events (event name) and entities
  std::vector<AttributeUse> attributes;  // resolved: own entries and inherited ones
  std::string file;
  int line = 0;
};

struct Manifest {
  bool present = false;
  std::string name;
  std::string description;
  std::string semconv_version;
  std::string schema_base_url;
  std::string schema_url;
  std::string stability;
};

struct LoadError {
  std::string file;   // relative to the registry root
  int line = 0;       // 1-based; 0 when unknown
  std::string group;  // "" when the error is not inside a group
  std::string message;
  // "file:line: group 'id': message".
  std::string ToString() const;
};

struct Registry {
  std::string root;
  Manifest manifest;
  std::vector<std::string> files;  // YAML files read (relative), sorted
  std::vector<Group> groups;       // in file order (files sorted by path)
  std::vector<AttributeDef> attributes;
  std::vector<LoadError> errors;

  // Lookups; nullptr when absent. O(log n).
  const Group* FindGroup(std::string_view id) const;
  const AttributeDef* FindAttribute(std::string_view id) const;
  // Index into `attributes`, or -1.
  int64_t AttributeIndex(std::string_view id) const;

  // Number of groups of `type`.
  std::size_t CountGroups(GroupType type) const;

  std::map<std::string, std::size_t, std::less<>> group_index;
  std::map<std::string, std::size_t, std::less<>> attribute_index;
};

// Loads every *.yaml / *.yml file below `dir` (recursively; manifest.yaml is the manifest, not a
// group file), resolves refs and extends. NOT_FOUND when `dir` does not exist,
// INVALID_ARGUMENT when it is not a directory, holds no YAML file, or holds more than kMaxFiles.
// Everything else wrong is a LoadError in the result. Control plane (reads files); thread-safe.
strobe::Result<Registry> LoadRegistry(const std::string& dir);

// As LoadRegistry, from in-memory files (name → content); for tests and fuzzing.
Registry LoadRegistryFromStrings(const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace strobed::semconv
