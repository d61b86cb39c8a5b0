#include "strobed/semconv/registry.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <utility>

#include "strobed/base/file_util.h"

namespace strobed::semconv {

std::string_view GroupTypeName(GroupType t) {
  switch (t) {
    case GroupType::kAttributeGroup:
      return "attribute_group";
    case GroupType::kSpan:
      return "span";
    case GroupType::kEvent:
      return "event";
    case GroupType::kMetric:
      return "metric";
    case GroupType::kEntity:
      return "entity";
    case GroupType::kScope:
      return "scope";
    case GroupType::kOther:
      break;
  }
  return "other";
}

std::string_view ScalarTypeName(ScalarType t) {
  switch (t) {
    case ScalarType::kString:
      return "string";
    case ScalarType::kInt:
      return "int";
    case ScalarType::kDouble:
      return "double";
    case ScalarType::kBoolean:
      return "boolean";
    case ScalarType::kAny:
      break;
  }
  return "any";
}

std::string_view RequirementLevelName(RequirementLevel level) {
  switch (level) {
    case RequirementLevel::kRequired:
      return "required";
    case RequirementLevel::kConditionallyRequired:
      return "conditionally_required";
    case RequirementLevel::kRecommended:
      return "recommended";
    case RequirementLevel::kOptIn:
      break;
  }
  return "opt_in";
}

std::string AttributeType::ToString() const {
  std::string s = is_enum ? "enum<" + std::string(ScalarTypeName(scalar)) + ">"
                          : std::string(ScalarTypeName(scalar));
  if (array) s += "[]";
  if (is_template) s = "template[" + s + "]";
  return s;
}

std::string LoadError::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!group.empty()) out += "group '" + group + "': ";
  return out + message;
}

const Group* Registry::FindGroup(std::string_view id) const {
  auto it = group_index.find(id);
  return it == group_index.end() ? nullptr : &groups[it->second];
}

const AttributeDef* Registry::FindAttribute(std::string_view id) const {
  auto it = attribute_index.find(id);
  return it == attribute_index.end() ? nullptr : &attributes[it->second];
}

int64_t Registry::AttributeIndex(std::string_view id) const {
  auto it = attribute_index.find(id);
  return it == attribute_index.end() ? -1 : static_cast<int64_t>(it->second);
}

std::size_t Registry::CountGroups(GroupType type) const {
  return static_cast<std::size_t>(std::count_if(groups.begin(), groups.end(),
                                                [type](const Group& g) { return g.type == type; }));
}

namespace {

int LineOf(const YAML::Node& n) {
  return n.IsDefined() && n.Mark().line >= 0 ? n.Mark().line + 1 : 0;
}

// One entry of a group's `attributes` list as written.
struct RawEntry {
  std::string attr;  // the id (definition) or the ref
  bool is_definition = false;
  std::optional<RequirementLevel> level;
  std::string condition;
  std::optional<std::string> brief;
  std::optional<std::string> stability;
  std::optional<std::vector<std::string>> examples;
  bool sampling_relevant = false;
  int line = 0;
};

struct RawGroup {
  Group group;  // attributes left empty until resolution
  std::vector<RawEntry> entries;
};

class Loader {
 public:
  Registry& reg() { return reg_; }

  void Error(std::string_view file, int line, std::string_view group, std::string message) {
    reg_.errors.push_back({std::string(file), line, std::string(group), std::move(message)});
  }

  void LoadManifest(const std::string& file, const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      Error(file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "YAML: " + e.msg);
      return;
    }
    if (!root.IsMap()) {
      Error(file, LineOf(root), "", "manifest: expected a mapping");
      return;
    }
    Manifest& m = reg_.manifest;
    m.present = true;
    auto str = [&](const char* key, std::string* out) {
      YAML::Node n = root[key];
      if (!n) return;
      if (!n.IsScalar()) {
        Error(file, LineOf(n), "", std::string("manifest: ") + key + ": expected a string");
        return;
      }
      *out = n.Scalar();
    };
    str("name", &m.name);
    str("description", &m.description);
    str("semconv_version", &m.semconv_version);
    str("schema_base_url", &m.schema_base_url);
    str("schema_url", &m.schema_url);
    str("stability", &m.stability);
  }

  void LoadFile(const std::string& file, const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      Error(file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "YAML: " + e.msg);
      return;
    }
    if (root.IsNull()) return;  // an empty file
    if (root.IsMap() && root["file_format"]) {
      try {
        LoadFileV2(file, root);
      } catch (const YAML::Exception& e) {
        Error(file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "malformed: " + e.msg);
      }
      return;
    }
    if (!root.IsMap() || !root["groups"]) {
      Error(file, LineOf(root), "", "expected a mapping with 'groups'");
      return;
    }
    YAML::Node groups = root["groups"];
    if (!groups.IsSequence()) {
      Error(file, LineOf(groups), "", "'groups' must be a list");
      return;
    }
    for (const YAML::Node& g : groups) {
      try {
        ParseGroup(file, g, "");
      } catch (const YAML::Exception& e) {
        std::string id;
        if (g.IsMap() && g["id"] && g["id"].IsScalar()) id = g["id"].Scalar();
        Error(file, e.mark.line >= 0 ? e.mark.line + 1 : LineOf(g), id, "malformed: " + e.msg);
      }
    }
  }

  // Weaver's `file_format: definition/2`: top-level `attributes` (defined by `key`, in no group)
  // and `attribute_groups` (public groups of refs). The other v2 sections (spans, metrics,
  // events, entities) are reported as unsupported, so a registry using them says so instead of
  // silently validating less.
  void LoadFileV2(const std::string& file, const YAML::Node& root) {
    std::string format = Text(root["file_format"]);
    if (format.rfind("definition/2", 0) != 0) {
      Error(file, LineOf(root["file_format"]), "", "unsupported file_format '" + format + "'");
      return;
    }
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      if (key == "file_format") continue;
      if (key == "attributes") {
        if (!kv.second.IsSequence()) {
          Error(file, LineOf(kv.second), "", "'attributes' must be a list");
          continue;
        }
        for (const YAML::Node& a : kv.second) {
          try {
            ParseEntry(file, "", a, nullptr, "key");
          } catch (const YAML::Exception& e) {
            Error(file, e.mark.line >= 0 ? e.mark.line + 1 : LineOf(a), "", "malformed: " + e.msg);
          }
        }
      } else if (key == "attribute_groups") {
        if (!kv.second.IsSequence()) {
          Error(file, LineOf(kv.second), "", "'attribute_groups' must be a list");
          continue;
        }
        for (const YAML::Node& g : kv.second) {
          try {
            ParseGroup(file, g, "attribute_group");
          } catch (const YAML::Exception& e) {
            Error(file, e.mark.line >= 0 ? e.mark.line + 1 : LineOf(g), Text(g["id"]),
                  "malformed: " + e.msg);
          }
        }
      } else {
        Error(file, LineOf(kv.first), "",
              "definition/2 section '" + key + "' is not supported (skipped)");
      }
    }
  }

  // Attribute table, then each group's resolved attribute list.
  void Resolve() {
    for (RawGroup& rg : raw_) {
      if (reg_.group_index.count(rg.group.id) != 0) {
        Error(rg.group.file, rg.group.line, rg.group.id, "duplicate group id (first one kept)");
        rg.group.id.clear();  // marks it skipped
        continue;
      }
      reg_.group_index.emplace(rg.group.id, reg_.groups.size());
      reg_.groups.push_back(rg.group);
      raw_index_.push_back(&rg);
    }
    state_.assign(reg_.groups.size(), 0);
    for (std::size_t i = 0; i < reg_.groups.size(); ++i) ResolveGroup(i);
  }

 private:
  // Scalar text of `n`, or an error.
  // (An absent key gives an invalid node: every accessor but IsDefined() throws on it.)
  static std::string Text(const YAML::Node& n) {
    return n.IsDefined() && n.IsScalar() ? n.Scalar() : std::string();
  }

  static std::vector<std::string> Examples(const YAML::Node& n) {
    std::vector<std::string> out;
    auto render = [](const YAML::Node& x) {
      if (x.IsScalar()) return x.Scalar();
      YAML::Emitter e;
      e << YAML::Flow << x;
      return std::string(e.c_str());
    };
    if (!n.IsDefined()) return out;
    if (n.IsSequence()) {
      for (const YAML::Node& x : n) out.push_back(render(x));
    } else if (n.IsDefined() && !n.IsNull()) {
      out.push_back(render(n));
    }
    return out;
  }

  static Deprecation ParseDeprecation(const YAML::Node& n) {
    Deprecation d;
    if (!n || n.IsNull()) return d;
    d.present = true;
    if (n.IsScalar()) {
      d.note = n.Scalar();  // the older form: free text
      return d;
    }
    if (n.IsMap()) {
      d.reason = Text(n["reason"]);
      d.renamed_to = Text(n["renamed_to"]);
      d.note = Text(n["note"]);
    }
    return d;
  }

  // `requirement_level`: a scalar level, or a one-key map {level: condition}.
  bool ParseLevel(const std::string& file, const std::string& group, const YAML::Node& n,
                  RequirementLevel* level, std::string* condition) {
    auto by_name = [](std::string_view s) -> std::optional<RequirementLevel> {
      if (s == "required") return RequirementLevel::kRequired;
      if (s == "conditionally_required") return RequirementLevel::kConditionallyRequired;
      if (s == "recommended") return RequirementLevel::kRecommended;
      if (s == "opt_in") return RequirementLevel::kOptIn;
      return std::nullopt;
    };
    std::string name;
    if (n.IsScalar()) {
      name = n.Scalar();
    } else if (n.IsMap() && n.size() == 1) {
      name = n.begin()->first.as<std::string>();
      *condition = Text(n.begin()->second);
    }
    auto l = by_name(name);
    if (!l) {
      Error(file, LineOf(n), group,
            "requirement_level: expected required, conditionally_required, recommended or "
            "opt_in");
      return false;
    }
    *level = *l;
    return true;
  }

  bool ParseType(const std::string& file, const std::string& group, const std::string& attr,
                 const YAML::Node& n, AttributeType* t) {
    if (n.IsMap()) {
      YAML::Node members = n["members"];
      if (!members || !members.IsSequence() || members.size() == 0) {
        Error(file, LineOf(n), group, "attribute '" + attr + "': enum type without members");
        return false;
      }
      t->is_enum = true;
      if (n["allow_custom_values"]) t->allow_custom_values = n["allow_custom_values"].as<bool>();
      bool all_int = true;
      bool all_number = true;
      for (const YAML::Node& m : members) {
        EnumMember em;
        if (!m.IsMap() || !m["value"] || !m["value"].IsScalar()) {
          Error(file, LineOf(m), group, "attribute '" + attr + "': enum member without a value");
          return false;
        }
        em.id = Text(m["id"]);
        em.stability = Text(m["stability"]);
        em.deprecated = m["deprecated"].IsDefined() && !m["deprecated"].IsNull();
        YAML::Node v = m["value"];
        em.value = v.Scalar();
        bool quoted = v.Tag() == "!";
        const char* b = em.value.data();
        const char* e = b + em.value.size();
        int64_t iv = 0;
        auto [ip, iec] = std::from_chars(b, e, iv);
        if (!quoted && iec == std::errc() && ip == e && !em.value.empty()) {
          em.value_type = ScalarType::kInt;
          em.int_value = iv;
          em.double_value = static_cast<double>(iv);
        } else {
          all_int = false;
          char* end = nullptr;
          errno = 0;
          double dv = em.value.empty() ? 0 : std::strtod(em.value.c_str(), &end);
          if (!quoted && !em.value.empty() && end == em.value.c_str() + em.value.size() &&
              errno == 0) {
            em.value_type = ScalarType::kDouble;
            em.double_value = dv;
          } else {
            all_number = false;
            em.value_type = ScalarType::kString;
          }
        }
        t->members.push_back(std::move(em));
      }
      t->scalar = all_int      ? ScalarType::kInt
                  : all_number ? ScalarType::kDouble
                               : ScalarType::kString;
      return true;
    }
    if (!n.IsScalar()) {
      Error(file, LineOf(n), group, "attribute '" + attr + "': type must be a name or an enum");
      return false;
    }
    std::string s = n.Scalar();
    if (s.rfind("template[", 0) == 0 && s.size() > 10 && s.back() == ']') {
      t->is_template = true;
      s = s.substr(9, s.size() - 10);
    }
    if (s.size() > 2 && s.compare(s.size() - 2, 2, "[]") == 0) {
      t->array = true;
      s.resize(s.size() - 2);
    }
    if (s == "string") {
      t->scalar = ScalarType::kString;
    } else if (s == "int") {
      t->scalar = ScalarType::kInt;
    } else if (s == "double") {
      t->scalar = ScalarType::kDouble;
    } else if (s == "boolean") {
      t->scalar = ScalarType::kBoolean;
    } else if (s == "any" && !t->array) {
      t->scalar = ScalarType::kAny;
    } else {
      Error(file, LineOf(n), group, "attribute '" + attr + "': unknown type '" + n.Scalar() + "'");
      return false;
    }
    return true;
  }

  // `type_override`: the group type implied by a definition/2 section ("" for v1 groups).
  void ParseGroup(const std::string& file, const YAML::Node& g, std::string_view type_override) {
    if (!g.IsMap()) {
      Error(file, LineOf(g), "", "a group must be a mapping");
      return;
    }
    RawGroup rg;
    Group& out = rg.group;
    out.file = file;
    out.line = LineOf(g);
    out.id = Text(g["id"]);
    if (out.id.empty()) {
      Error(file, out.line, "", "group without an id");
      return;
    }
    out.type_name = type_override.empty() ? Text(g["type"]) : std::string(type_override);
    const std::string& t = out.type_name;
    if (t == "attribute_group") {
      out.type = GroupType::kAttributeGroup;
    } else if (t == "span") {
      out.type = GroupType::kSpan;
    } else if (t == "event") {
      out.type = GroupType::kEvent;
    } else if (t == "metric") {
      out.type = GroupType::kMetric;
    } else if (t == "entity" || t == "resource") {
      out.type = GroupType::kEntity;
    } else if (t == "scope") {
      out.type = GroupType::kScope;
    } else {
      Error(file, out.line, out.id, "unknown group type '" + t + "' (group skipped)");
      return;
    }
    out.brief = Text(g["brief"]);
    out.stability = Text(g["stability"]);
    out.deprecated = ParseDeprecation(g["deprecated"]);
    out.extends = Text(g["extends"]);
    out.span_kind = Text(g["span_kind"]);
    out.metric_name = Text(g["metric_name"]);
    out.instrument = Text(g["instrument"]);
    out.unit = Text(g["unit"]);
    out.name = Text(g["name"]);
    if (out.type == GroupType::kMetric) {
      if (out.metric_name.empty())
        Error(file, out.line, out.id, "metric group without metric_name");
      static constexpr std::string_view kInstruments[] = {"counter", "updowncounter", "gauge",
                                                          "histogram"};
      if (std::find(std::begin(kInstruments), std::end(kInstruments), out.instrument) ==
          std::end(kInstruments)) {
        Error(file, out.line, out.id, "metric: unknown instrument '" + out.instrument + "'");
      }
    }
    if (out.type == GroupType::kSpan && !out.span_kind.empty()) {
      static constexpr std::string_view kKinds[] = {"client", "server", "internal", "producer",
                                                    "consumer"};
      if (std::find(std::begin(kKinds), std::end(kKinds), out.span_kind) == std::end(kKinds)) {
        Error(file, out.line, out.id, "span: unknown span_kind '" + out.span_kind + "'");
        out.span_kind.clear();
      }
    }
    YAML::Node attrs = g["attributes"];
    if (attrs && !attrs.IsNull()) {
      if (!attrs.IsSequence()) {
        Error(file, LineOf(attrs), out.id, "'attributes' must be a list");
      } else {
        for (const YAML::Node& a : attrs) ParseEntry(file, out.id, a, &rg, "id");
      }
    }
    raw_.push_back(std::move(rg));
  }

  // One attribute entry: a definition (by `id_key`: "id" in v1 groups, "key" in v2 files) or a
  // ref. `rg` (null for v2 top-level definitions, which belong to no group) gets the use.
  void ParseEntry(const std::string& file, const std::string& group, const YAML::Node& a,
                  RawGroup* rg, const char* id_key) {
    RawEntry e;
    e.line = LineOf(a);
    if (!a.IsMap()) {
      Error(file, e.line, group, "an attribute must be a mapping");
      return;
    }
    if (a[id_key]) {
      e.is_definition = true;
      e.attr = Text(a[id_key]);
    } else {
      e.attr = Text(a["ref"]);
    }
    if (e.attr.empty()) {
      Error(file, e.line, group, "attribute without an id or a ref");
      return;
    }
    if (a["requirement_level"]) {
      RequirementLevel level{};
      if (!ParseLevel(file, group, a["requirement_level"], &level, &e.condition)) return;
      e.level = level;
    }
    if (a["brief"]) e.brief = Text(a["brief"]);
    if (a["stability"]) e.stability = Text(a["stability"]);
    if (a["examples"]) e.examples = Examples(a["examples"]);
    if (a["sampling_relevant"]) e.sampling_relevant = a["sampling_relevant"].as<bool>();
    if (e.is_definition) {
      AttributeDef def;
      def.id = e.attr;
      def.group = group;
      def.file = file;
      def.line = e.line;
      if (!a["type"]) {
        Error(file, e.line, group, "attribute '" + e.attr + "': no type");
        return;
      }
      if (!ParseType(file, group, e.attr, a["type"], &def.type)) return;
      def.brief = e.brief.value_or("");
      def.note = Text(a["note"]);
      def.stability = e.stability.value_or("");
      def.deprecated = ParseDeprecation(a["deprecated"]);
      def.examples = e.examples.value_or(std::vector<std::string>{});
      def.requirement_level = e.level.value_or(RequirementLevel::kRecommended);
      def.condition = e.condition;
      if (reg_.attribute_index.count(def.id) != 0) {
        Error(file, e.line, group, "attribute '" + def.id + "' defined twice (first one kept)");
        return;
      }
      reg_.attribute_index.emplace(def.id, reg_.attributes.size());
      reg_.attributes.push_back(std::move(def));
    }
    if (rg != nullptr) rg->entries.push_back(std::move(e));
  }

  // Resolves group `i` (and its extends chain first). state_: 0 new, 1 in progress, 2 done.
  void ResolveGroup(std::size_t i) {
    if (state_[i] == 2) return;
    Group& g = reg_.groups[i];
    if (state_[i] == 1) {
      Error(g.file, g.line, g.id, "extends cycle through '" + g.extends + "'");
      return;
    }
    state_[i] = 1;
    std::vector<AttributeUse> uses;
    if (!g.extends.empty()) {
      auto it = reg_.group_index.find(g.extends);
      if (it == reg_.group_index.end()) {
        Error(g.file, g.line, g.id, "extends unknown group '" + g.extends + "'");
      } else if (state_[it->second] == 1) {
        Error(g.file, g.line, g.id, "extends cycle through '" + g.extends + "'");
      } else {
        ResolveGroup(it->second);
        const Group& parent = reg_.groups[it->second];
        uses = parent.attributes;
        for (AttributeUse& u : uses) {
          if (u.inherited_from.empty()) u.inherited_from = parent.id;
        }
      }
    }
    for (const RawEntry& e : raw_index_[i]->entries) {
      int64_t idx = reg_.AttributeIndex(e.attr);
      if (idx < 0) {
        Error(g.file, e.line, g.id, "ref to unknown attribute '" + e.attr + "'");
        continue;
      }
      const AttributeDef& def = reg_.attributes[static_cast<std::size_t>(idx)];
      auto found = std::find_if(uses.begin(), uses.end(), [idx](const AttributeUse& u) {
        return u.attribute == static_cast<std::size_t>(idx);
      });
      AttributeUse* u = nullptr;
      if (found != uses.end()) {
        u = &*found;
        u->inherited_from.clear();
      } else {
        AttributeUse fresh;
        fresh.attribute = static_cast<std::size_t>(idx);
        fresh.requirement_level = def.requirement_level;
        fresh.condition = def.condition;
        fresh.brief = def.brief;
        fresh.stability = def.stability;
        fresh.examples = def.examples;
        uses.push_back(std::move(fresh));
        u = &uses.back();
      }
      if (e.level) {
        u->requirement_level = *e.level;
        u->condition = e.condition;
      }
      if (e.brief) u->brief = *e.brief;
      if (e.stability) u->stability = *e.stability;
      if (e.examples) u->examples = *e.examples;
      u->sampling_relevant = u->sampling_relevant || e.sampling_relevant;
    }
    g.attributes = std::move(uses);
    state_[i] = 2;
  }

  Registry reg_;
  std::vector<RawGroup> raw_;
  std::vector<RawGroup*> raw_index_;  // parallel to reg_.groups
  std::vector<uint8_t> state_;
};

bool IsYaml(const std::string& name) {
  auto ends = [&](std::string_view s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".yaml") || ends(".yml");
}

bool IsManifest(const std::string& rel) { return rel == "manifest.yaml" || rel == "manifest.yml"; }

}  // namespace

Registry LoadRegistryFromStrings(const std::vector<std::pair<std::string, std::string>>& files) {
  Loader loader;
  std::vector<std::pair<std::string, std::string>> sorted = files;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [name, text] : sorted) {
    loader.reg().files.push_back(name);
    if (IsManifest(name)) {
      loader.LoadManifest(name, text);
    } else {
      loader.LoadFile(name, text);
    }
  }
  loader.Resolve();
  return std::move(loader.reg());
}

strobe::Result<Registry> LoadRegistry(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (ec || !fs::exists(st))
    return strobe::NotFound("semantic-convention registry '" + dir + "' not found");
  if (!fs::is_directory(st)) {
    return strobe::InvalidArgument("semantic-convention registry '" + dir + "' is not a directory");
  }
  std::vector<std::string> rels;
  // Symlinked directories are not followed: a link loop cannot make the walk endless.
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (ec || !IsYaml(rel)) continue;
    rels.push_back(rel);
    if (rels.size() > kMaxFiles) {
      return strobe::InvalidArgument("semantic-convention registry '" + dir + "' has more than " +
                                     std::to_string(kMaxFiles) + " YAML files");
    }
  }
  if (ec) return strobe::InvalidArgument("cannot read registry '" + dir + "': " + ec.message());
  if (rels.empty()) {
    return strobe::InvalidArgument("semantic-convention registry '" + dir + "' has no YAML files");
  }
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<LoadError> read_errors;
  for (const std::string& rel : rels) {
    auto text = base::ReadRegularFile((fs::path(dir) / rel).string(), kMaxFileBytes);
    if (!text.ok()) {
      read_errors.push_back({rel, 0, "", std::string(text.status().message())});
      continue;
    }
    files.emplace_back(rel, std::move(text).value());
  }
  Registry reg = LoadRegistryFromStrings(files);
  reg.root = dir;
  reg.errors.insert(reg.errors.begin(), read_errors.begin(), read_errors.end());
  return reg;
}

}  // namespace strobed::semconv
