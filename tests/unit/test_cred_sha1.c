/* credentials plugins: SHA-1 (FIPS 180-4 vectors, block boundaries, incremental hashing) and the
 * AWS CLI's SSO token cache file names built with it. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../plugins/credentials/common/sha1.h"

static void hex_of(const void *data, size_t len, const char *expect)
{
    char out[41];
    cc_sha1_hex(data, len, out);
    assert_string_equal(out, expect);
}

static void test_fips_vectors(void **state)
{
    (void)state;
    hex_of("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    hex_of("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    const char *fox = "The quick brown fox jumps over the lazy dog";
    hex_of(fox, strlen(fox), "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
}

static void test_million_a(void **state)
{
    (void)state;
    /* fed in uneven pieces, to exercise the buffering */
    cc_sha1_ctx c;
    cc_sha1_init(&c);
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        cc_sha1_update(&c, chunk, n);
        left -= n;
    }
    unsigned char d[20];
    cc_sha1_final(&c, d);
    static const unsigned char expect[20] = {0x34, 0xaa, 0x97, 0x3c, 0xd4, 0xc4, 0xda, 0xa4, 0xf6, 0x1e,
                                             0xeb, 0x2b, 0xdb, 0xad, 0x27, 0x31, 0x65, 0x34, 0x01, 0x6f};
    assert_memory_equal(d, expect, 20);
}

static void test_block_boundaries(void **state)
{
    (void)state;
    /* padding edge cases: 55 bytes fit one block with the length, 56 need two, ... */
    static const struct {
        size_t n;
        const char *hex;
    } v[] = {
        {55, "ddf57317ef34bfee3b6df83d359098930eb278bc"},  {56, "a0d492bb0fc889d0eca3bc137066ab6f4f74f369"},
        {57, "11a02dcf95859677a62e75024067c22b165d890f"},  {63, "c55856749bef509bdfe6bfebfc7bf4e793e82132"},
        {64, "bede92be29c3874e1b54ddc77988d606fc857a8e"},  {65, "b05a80522b053d6dc7e0a517d0e70212c7dad11f"},
        {119, "504e27376a6e0f0dba8295b85cb25dc4dfa17d23"}, {120, "82134b02fb3f702491be9bed581eeab59334acb2"},
        {128, "a09133e6730ffe899efb70204cb5646cd5dc24ee"},
    };
    unsigned char buf[128];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)((i * 7 + 3) & 0xff);
    for (size_t k = 0; k < sizeof v / sizeof *v; k++) {
        hex_of(buf, v[k].n, v[k].hex);
        /* byte by byte gives the same */
        cc_sha1_ctx c;
        cc_sha1_init(&c);
        for (size_t i = 0; i < v[k].n; i++)
            cc_sha1_update(&c, buf + i, 1);
        unsigned char d1[20], d2[20];
        cc_sha1_final(&c, d1);
        cc_sha1(buf, v[k].n, d2);
        assert_memory_equal(d1, d2, 20);
    }
}

static void test_sso_cache_names(void **state)
{
    (void)state;
    /* what `aws sso login` names ~/.aws/sso/cache/<name>.json: the start URL (legacy profiles)
       or the sso-session name */
    const char *url = "https://d-1234567890.awsapps.com/start";
    hex_of(url, strlen(url), "7487b5b67d5fa1132cf33fa93ae51ef38cc37752");
    hex_of("my-sso", 6, "0ad374308c5a4e22f723adf10145eafad7c4031c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_block_boundaries),
        cmocka_unit_test(test_sso_cache_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
