#include "strobe/profile/symbolizer.h"

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <unordered_map>

namespace strobe::profile {
namespace {

struct MapsEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;
  std::string path;
};

// The executable mappings of this process, sorted by start (the kernel lists them so).
Result<std::vector<MapsEntry>> ReadExecutableMaps() {
  std::ifstream in("/proc/self/maps");
  if (!in) return Internal("cannot read /proc/self/maps");
  std::vector<MapsEntry> out;
  std::string line;
  while (std::getline(in, line)) {
    MapsEntry e;
    char perms[5] = {};
    int path_at = 0;
    // "start-end perms offset dev inode   path"
    if (sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*s %*u %n", &e.start, &e.end,
               perms, &e.offset, &path_at) < 4) {
      continue;
    }
    if (perms[2] != 'x') continue;
    if (path_at > 0 && static_cast<size_t>(path_at) <= line.size()) e.path = line.substr(path_at);
    out.push_back(std::move(e));
  }
  return out;
}

// The function symbols and load segments of one ELF file, read from a read-only mapping of it.
// Every offset and size from the file is checked against the file's length before use.
class ElfFile {
 public:
  ElfFile() = default;
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;
  ~ElfFile() {
    if (data_ != nullptr) munmap(const_cast<char*>(data_), size_);
  }

  bool Load(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<size_t>(st.st_size) < sizeof(Elf64_Ehdr)) {
      close(fd);
      return false;
    }
    size_ = static_cast<size_t>(st.st_size);
    void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return false;
    data_ = static_cast<const char*>(m);
    return Parse();
  }

  // The ELF virtual address of file offset `off`, when a PT_LOAD segment holds it.
  bool FileOffsetToVaddr(uint64_t off, uint64_t& vaddr) const {
    for (const Elf64_Phdr& ph : loads_) {
      if (off >= ph.p_offset && off - ph.p_offset < ph.p_filesz) {
        vaddr = off - ph.p_offset + ph.p_vaddr;
        return true;
      }
    }
    return false;
  }

  // The name of the function symbol containing `vaddr`, or nullptr.
  const char* Lookup(uint64_t vaddr) const {
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), vaddr,
                               [](uint64_t a, const Symbol& s) { return a < s.start; });
    // Symbols may nest or overlap (aliases); look back over the few that start at or before.
    for (int back = 0; back < 8 && it != symbols_.begin(); ++back) {
      --it;
      if (vaddr - it->start < it->size) return it->name;
    }
    return nullptr;
  }

  const std::string& build_id() const { return build_id_; }

 private:
  struct Symbol {
    uint64_t start;
    uint64_t size;
    const char* name;
  };

  bool InFile(uint64_t off, uint64_t len) const { return off <= size_ && len <= size_ - off; }

  bool Parse() {
    Elf64_Ehdr eh;
    memcpy(&eh, data_, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
      return false;
    }
    if (eh.e_phentsize == sizeof(Elf64_Phdr) &&
        InFile(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr))) {
      for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph;
        memcpy(&ph, data_ + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD) loads_.push_back(ph);
        if (ph.p_type == PT_NOTE && InFile(ph.p_offset, ph.p_filesz)) ReadNotes(ph);
      }
    }
    if (eh.e_shentsize != sizeof(Elf64_Shdr) ||
        !InFile(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr))) {
      return true;  // no section headers: segments only, no names
    }
    std::vector<Elf64_Shdr> sh(eh.e_shnum);
    if (!sh.empty()) memcpy(sh.data(), data_ + eh.e_shoff, sh.size() * sizeof(Elf64_Shdr));
    // .symtab has every function; .dynsym only the exported ones (all a stripped file keeps).
    for (uint32_t wanted : {uint32_t{SHT_SYMTAB}, uint32_t{SHT_DYNSYM}}) {
      for (const Elf64_Shdr& s : sh) {
        if (s.sh_type == wanted && s.sh_link < sh.size()) ReadSymbols(s, sh[s.sh_link]);
      }
      if (!symbols_.empty()) break;
    }
    std::sort(symbols_.begin(), symbols_.end(),
              [](const Symbol& a, const Symbol& b) { return a.start < b.start; });
    return true;
  }

  void ReadSymbols(const Elf64_Shdr& symtab, const Elf64_Shdr& strtab) {
    if (symtab.sh_entsize != sizeof(Elf64_Sym) || !InFile(symtab.sh_offset, symtab.sh_size) ||
        !InFile(strtab.sh_offset, strtab.sh_size) || strtab.sh_size == 0) {
      return;
    }
    const char* strings = data_ + strtab.sh_offset;
    size_t n = symtab.sh_size / sizeof(Elf64_Sym);
    for (size_t i = 0; i < n; ++i) {
      Elf64_Sym sym;
      memcpy(&sym, data_ + symtab.sh_offset + i * sizeof sym, sizeof sym);
      int type = ELF64_ST_TYPE(sym.st_info);
      if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_value == 0 || sym.st_size == 0 ||
          sym.st_shndx == SHN_UNDEF || sym.st_name >= strtab.sh_size) {
        continue;
      }
      // The name must end inside the string table.
      const char* name = strings + sym.st_name;
      if (memchr(name, '\0', strtab.sh_size - sym.st_name) == nullptr) continue;
      symbols_.push_back({sym.st_value, sym.st_size, name});
    }
  }

  void ReadNotes(const Elf64_Phdr& ph) {
    uint64_t at = ph.p_offset;
    uint64_t end = ph.p_offset + ph.p_filesz;
    while (end - at >= sizeof(Elf64_Nhdr)) {
      Elf64_Nhdr nh;
      memcpy(&nh, data_ + at, sizeof nh);
      uint64_t name_at = at + sizeof nh;
      uint64_t desc_at = name_at + ((uint64_t{nh.n_namesz} + 3) & ~uint64_t{3});
      uint64_t next = desc_at + ((uint64_t{nh.n_descsz} + 3) & ~uint64_t{3});
      if (next > end || next <= at) return;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
          memcmp(data_ + name_at, "GNU", 4) == 0) {
        static constexpr char kHex[] = "0123456789abcdef";
        for (uint32_t i = 0; i < nh.n_descsz; ++i) {
          auto b = static_cast<unsigned char>(data_[desc_at + i]);
          build_id_.push_back(kHex[b >> 4]);
          build_id_.push_back(kHex[b & 15]);
        }
        return;
      }
      at = next;
    }
  }

  const char* data_ = nullptr;
  size_t size_ = 0;
  std::vector<Elf64_Phdr> loads_;
  std::vector<Symbol> symbols_;
  std::string build_id_;
};

}  // namespace

std::string Demangle(const char* symbol) {
  int status = 0;
  std::unique_ptr<char, decltype(&free)> out(abi::__cxa_demangle(symbol, nullptr, nullptr, &status),
                                             &free);
  if (status == 0 && out != nullptr) return out.get();
  return symbol;
}

Result<Profile> Symbolize(const std::vector<RawSample>& samples, Profile header) {
  STROBE_ASSIGN_OR_RETURN(std::vector<MapsEntry> maps, ReadExecutableMaps());
  Profile p = std::move(header);
  p.mappings.clear();
  p.locations.clear();
  p.samples.clear();

  std::unordered_map<std::string, std::unique_ptr<ElfFile>> files;  // by path; null: unreadable
  std::vector<int> mapping_of_entry(maps.size(), -1);
  // Location index per (pc, is-return-address): the same pc as a leaf and as a return address
  // are looked up at different addresses, so they may name different functions.
  std::map<std::pair<uint64_t, bool>, uint32_t> location_of;

  auto locate = [&](uint64_t pc, bool is_return) -> uint32_t {
    auto [it, inserted] =
        location_of.try_emplace({pc, is_return}, static_cast<uint32_t>(p.locations.size()));
    if (!inserted) return it->second;
    Location loc;
    loc.address = pc;
    uint64_t lookup = is_return && pc > 0 ? pc - 1 : pc;
    auto m = std::upper_bound(maps.begin(), maps.end(), lookup,
                              [](uint64_t a, const MapsEntry& e) { return a < e.start; });
    if (m != maps.begin() && lookup < (m - 1)->end) {
      --m;
      auto entry = static_cast<size_t>(m - maps.begin());
      ElfFile* elf = nullptr;
      if (!m->path.empty() && m->path[0] == '/') {
        auto [f, fresh] = files.try_emplace(m->path);
        if (fresh) {
          auto file = std::make_unique<ElfFile>();
          if (file->Load(m->path)) f->second = std::move(file);
        }
        elf = f->second.get();
      }
      if (mapping_of_entry[entry] < 0) {
        mapping_of_entry[entry] = static_cast<int>(p.mappings.size());
        p.mappings.push_back({m->start, m->end, m->offset, m->path,
                              elf != nullptr ? elf->build_id() : std::string()});
      }
      loc.mapping = mapping_of_entry[entry];
      uint64_t vaddr = 0;
      if (elf != nullptr && elf->FileOffsetToVaddr(lookup - m->start + m->offset, vaddr)) {
        if (const char* name = elf->Lookup(vaddr)) loc.function = Demangle(name);
      }
    }
    p.locations.push_back(std::move(loc));
    return it->second;
  };

  p.samples.reserve(samples.size());
  for (const RawSample& raw : samples) {
    Sample s;
    s.values = raw.values;
    s.locations.reserve(raw.pcs.size());
    for (size_t i = 0; i < raw.pcs.size(); ++i) s.locations.push_back(locate(raw.pcs[i], i > 0));
    p.samples.push_back(std::move(s));
  }
  return p;
}

}  // namespace strobe::profile
