#pragma once

// Constant tables of the scale-6 exponential buckets (bucket_math.h), as literals so they are
// usable during static initialisation of any translation unit (a record from another TU's
// static initialiser sees them filled). Generated from the long double formulas below;
// bucket_math_test.cc recomputes every entry and checks it bit for bit.

#include <cstdint>

namespace strobe::metrics::internal {

inline constexpr int kTableBucketsPerOctave = 64;

// boundary[j] = floor((2^(j/64) - 1) * 2^64), computed with 64-bit-mantissa long double.
inline constexpr uint64_t kBoundary[kTableBucketsPerOctave + 1] = {
    0x0000000000000000ULL, 0x02c9a3e778060ee6ULL, 0x059b0d31585743aeULL, 0x0874518759bc808cULL,
    0x0b5586cf9890f62aULL, 0x0e3ec32d3d1a2020ULL, 0x11301d0125b50a4eULL, 0x1429aaea92ddfb34ULL,
    0x172b83c7d517adceULL, 0x1a35beb6fcb753ccULL, 0x1d4873168b9aa780ULL, 0x2063b88628cd63b8ULL,
    0x2387a6e75623866cULL, 0x26b4565e27cdd258ULL, 0x29e9df51fdee12c2ULL, 0x2d285a6e4030b400ULL,
    0x306fe0a31b7152deULL, 0x33c08b26416ff4caULL, 0x371a7373aa9caa72ULL, 0x3a7db34e59ff6ea2ULL,
    0x3dea64c12342235cULL, 0x4160a21f72e29f84ULL, 0x44e086061892d030ULL, 0x486a2b5c13cd013cULL,
    0x4bfdad5362a271d4ULL, 0x4f9b2769d2ca6ad4ULL, 0x5342b569d4f81df0ULL, 0x56f4736b527da670ULL,
    0x5ab07dd48542958cULL, 0x5e76f15ad21486eaULL, 0x6247eb03a5584b20ULL, 0x6623882552224912ULL,
    0x6a09e667f3bcc908ULL, 0x6dfb23c651a2ef22ULL, 0x71f75e8ec5f73dd2ULL, 0x75feb564267c8bf8ULL,
    0x7a11473eb0186d7cULL, 0x7e2f336cf4e62106ULL, 0x82589994cce128acULL, 0x868d99b4492ec80eULL,
    0x8ace5422aa0db5baULL, 0x8f1ae991577362baULL, 0x93737b0cdc5e4f44ULL, 0x97d829fde4e4f8baULL,
    0x9c49182a3f0901c8ULL, 0xa0c667b5de564b2aULL, 0xa5503b23e255c8b4ULL, 0xa9e6b5579fdbf43eULL,
    0xae89f995ad3ad5e8ULL, 0xb33a2b84f15faf6cULL, 0xb7f76f2fb5e46eaaULL, 0xbcc1e904bc1d2248ULL,
    0xc199bdd85529c222ULL, 0xc67f12e57d14b4a2ULL, 0xcb720dcef9069150ULL, 0xd072d4a07897b8d0ULL,
    0xd5818dcfba48725eULL, 0xda9e603db3285708ULL, 0xdfc97337b9b5eb96ULL, 0xe502ee78b3ff6274ULL,
    0xea4afa2a490d9858ULL, 0xefa1bee615a27772ULL, 0xf50765b6e4540674ULL, 0xfa7c1819e90d82eaULL,
    0xffffffffffffffffULL,
};
// pow[j] = 2^(j/64) and mid[j] = 2^((j + 0.5)/64), as IEEE-754 bit patterns.
inline constexpr uint64_t kPowBits[kTableBucketsPerOctave] = {
    0x3ff0000000000000ULL, 0x3ff02c9a3e778061ULL, 0x3ff059b0d3158574ULL, 0x3ff0874518759bc8ULL,
    0x3ff0b5586cf9890fULL, 0x3ff0e3ec32d3d1a2ULL, 0x3ff11301d0125b51ULL, 0x3ff1429aaea92de0ULL,
    0x3ff172b83c7d517bULL, 0x3ff1a35beb6fcb75ULL, 0x3ff1d4873168b9aaULL, 0x3ff2063b88628cd6ULL,
    0x3ff2387a6e756238ULL, 0x3ff26b4565e27cddULL, 0x3ff29e9df51fdee1ULL, 0x3ff2d285a6e4030bULL,
    0x3ff306fe0a31b715ULL, 0x3ff33c08b26416ffULL, 0x3ff371a7373aa9cbULL, 0x3ff3a7db34e59ff7ULL,
    0x3ff3dea64c123422ULL, 0x3ff4160a21f72e2aULL, 0x3ff44e086061892dULL, 0x3ff486a2b5c13cd0ULL,
    0x3ff4bfdad5362a27ULL, 0x3ff4f9b2769d2ca7ULL, 0x3ff5342b569d4f82ULL, 0x3ff56f4736b527daULL,
    0x3ff5ab07dd485429ULL, 0x3ff5e76f15ad2148ULL, 0x3ff6247eb03a5585ULL, 0x3ff6623882552225ULL,
    0x3ff6a09e667f3bcdULL, 0x3ff6dfb23c651a2fULL, 0x3ff71f75e8ec5f74ULL, 0x3ff75feb564267c9ULL,
    0x3ff7a11473eb0187ULL, 0x3ff7e2f336cf4e62ULL, 0x3ff82589994cce13ULL, 0x3ff868d99b4492edULL,
    0x3ff8ace5422aa0dbULL, 0x3ff8f1ae99157736ULL, 0x3ff93737b0cdc5e5ULL, 0x3ff97d829fde4e50ULL,
    0x3ff9c49182a3f090ULL, 0x3ffa0c667b5de565ULL, 0x3ffa5503b23e255dULL, 0x3ffa9e6b5579fdbfULL,
    0x3ffae89f995ad3adULL, 0x3ffb33a2b84f15fbULL, 0x3ffb7f76f2fb5e47ULL, 0x3ffbcc1e904bc1d2ULL,
    0x3ffc199bdd85529cULL, 0x3ffc67f12e57d14bULL, 0x3ffcb720dcef9069ULL, 0x3ffd072d4a07897cULL,
    0x3ffd5818dcfba487ULL, 0x3ffda9e603db3285ULL, 0x3ffdfc97337b9b5fULL, 0x3ffe502ee78b3ff6ULL,
    0x3ffea4afa2a490daULL, 0x3ffefa1bee615a27ULL, 0x3fff50765b6e4540ULL, 0x3fffa7c1819e90d8ULL,
};
inline constexpr uint64_t kMidBits[kTableBucketsPerOctave] = {
    0x3ff0163da9fb3335ULL, 0x3ff04315e86e7f85ULL, 0x3ff0706b29ddf6deULL, 0x3ff09e3ecac6f383ULL,
    0x3ff0cc922b7247f7ULL, 0x3ff0fb66affed31bULL, 0x3ff12abdc06c31ccULL, 0x3ff15a98c8a58e51ULL,
    0x3ff18af9388c8deaULL, 0x3ff1bbe084045cd4ULL, 0x3ff1ed5022fcd91dULL, 0x3ff21f49917ddc96ULL,
    0x3ff251ce4fb2a63fULL, 0x3ff284dfe1f56381ULL, 0x3ff2b87fd0dad990ULL, 0x3ff2ecafa93e2f56ULL,
    0x3ff32170fc4cd831ULL, 0x3ff356c55f929ff1ULL, 0x3ff38cae6d05d866ULL, 0x3ff3c32dc313a8e5ULL,
    0x3ff3fa4504ac801cULL, 0x3ff431f5d950a897ULL, 0x3ff46a41ed1d0057ULL, 0x3ff4a32af0d7d3deULL,
    0x3ff4dcb299fddd0dULL, 0x3ff516daa2cf6642ULL, 0x3ff551a4ca5d920fULL, 0x3ff58d12d497c7fdULL,
    0x3ff5c9268a5946b7ULL, 0x3ff605e1b976dc09ULL, 0x3ff6434634ccc320ULL, 0x3ff68155d44ca973ULL,
    0x3ff6c012750bdabfULL, 0x3ff6ff7df9519484ULL, 0x3ff73f9a48a58174ULL, 0x3ff780694fde5d3fULL,
    0x3ff7c1ed0130c132ULL, 0x3ff80427543e1a12ULL, 0x3ff8471a4623c7adULL, 0x3ff88ac7d98a6699ULL,
    0x3ff8cf3216b5448cULL, 0x3ff9145b0b91ffc6ULL, 0x3ff95a44cbc8520fULL, 0x3ff9a0f170ca07baULL,
    0x3ff9e86319e32323ULL, 0x3ffa309bec4a2d33ULL, 0x3ffa799e1330b358ULL, 0x3ffac36bbfd3f37aULL,
    0x3ffb0e07298db666ULL, 0x3ffb59728de5593aULL, 0x3ffba5b030a1064aULL, 0x3ffbf2c25bd71e09ULL,
    0x3ffc40ab5fffd07aULL, 0x3ffc8f6d9406e7b5ULL, 0x3ffcdf0b555dc3faULL, 0x3ffd2f87080d89f2ULL,
    0x3ffd80e316c98398ULL, 0x3ffdd321f301b460ULL, 0x3ffe264614f5a129ULL, 0x3ffe7a51fbc74c83ULL,
    0x3ffecf482d8e67f1ULL, 0x3fff252b376bba97ULL, 0x3fff7bfdad9cbe14ULL, 0x3fffd3c22b8f71f1ULL,
};

}  // namespace strobe::metrics::internal
