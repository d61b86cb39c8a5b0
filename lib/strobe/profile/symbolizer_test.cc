#include "strobe/profile/symbolizer.h"

#include <unistd.h>

#include <cstdint>

#include "gtest/gtest.h"
#include "strobe/profile/profile_workload.h"

namespace strobe::profile {
namespace {

uint64_t AddressOf(uint64_t (*f)(uint64_t)) { return reinterpret_cast<uint64_t>(f); }

TEST(DemangleTest, DemanglesCxxNamesAndKeepsOthers) {
  EXPECT_EQ(Demangle("_ZN6strobe7profile7testing8burn_cpuEm"),
            "strobe::profile::testing::burn_cpu(unsigned long)");
  EXPECT_EQ(Demangle("main"), "main");
  EXPECT_EQ(Demangle("_Z"), "_Z");
}

TEST(SymbolizeTest, NamesFunctionsOfThisBinary) {
  uint64_t burn = AddressOf(&testing::burn_cpu);
  uint64_t other = AddressOf(&testing::other_work);
  // Leaf pcs are looked up as they are; later ones (return addresses) at pc - 1: `burn` as a
  // return address points at the end of whatever precedes burn_cpu, not into it.
  std::vector<RawSample> raw = {{{burn + 1, other + 1, 0x10}, {7}}, {{burn + 1, burn}, {3}}};
  Profile header;
  header.sample_types = {{"samples", "count"}};
  header.period = 5;
  Result<Profile> p = Symbolize(raw, header);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->period, 5);
  ASSERT_EQ(p->samples.size(), 2u);
  EXPECT_EQ(p->samples[0].values, std::vector<int64_t>{7});
  EXPECT_EQ(p->samples[1].values, std::vector<int64_t>{3});
  // burn+1 (leaf, shared), other+1 (return), 0x10 (return), burn (return).
  ASSERT_EQ(p->locations.size(), 4u);
  EXPECT_EQ(p->samples[0].locations, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(p->samples[1].locations, (std::vector<uint32_t>{0, 3}));
  EXPECT_EQ(p->locations[0].function, "strobe::profile::testing::burn_cpu(unsigned long)");
  EXPECT_EQ(p->locations[0].address, burn + 1);
  EXPECT_EQ(p->locations[1].function, "strobe::profile::testing::other_work(unsigned long)");
  EXPECT_EQ(p->locations[2].function, "");
  EXPECT_EQ(p->locations[2].mapping, -1);
  EXPECT_NE(p->locations[3].function, "strobe::profile::testing::burn_cpu(unsigned long)");
  // Both functions live in this executable: one mapping, with its file and GNU build-id.
  ASSERT_GE(p->locations[0].mapping, 0);
  EXPECT_EQ(p->locations[0].mapping, p->locations[1].mapping);
  const Mapping& m = p->mappings[static_cast<size_t>(p->locations[0].mapping)];
  EXPECT_LE(m.memory_start, burn);
  EXPECT_GT(m.memory_limit, burn);
  EXPECT_NE(m.filename.find("symbolizer_test"), std::string::npos) << m.filename;
  EXPECT_EQ(m.build_id.size(), 40u) << m.build_id;  // SHA-1 build-id, hex
}

TEST(SymbolizeTest, NamesSharedLibraryFunctions) {
  // A libc function reached through a pointer: its mapping is libc's, named from .symtab or
  // .dynsym (Debian strips libc's .symtab; the exported name stays in .dynsym). getpid: not an
  // IFUNC (whose address would be a local __*_avx2 variant) and no sanitizer intercepts it.
  auto addr = reinterpret_cast<uint64_t>(&getpid);
  Result<Profile> p = Symbolize({{{addr + 1}, {1}}}, Profile{});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->locations.size(), 1u);
  ASSERT_GE(p->locations[0].mapping, 0);
  EXPECT_NE(p->mappings[static_cast<size_t>(p->locations[0].mapping)].filename.find("libc"),
            std::string::npos);
  EXPECT_NE(p->locations[0].function.find("getpid"), std::string::npos) << p->locations[0].function;
}

}  // namespace
}  // namespace strobe::profile
