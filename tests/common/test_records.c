/* test_records.c -- the text forms of records: JSON that the validator reads
 * back into the identical record (replay files), and signal lines. */
#include <check.h>
#include <string.h>

#include "common/records.h"
#include "ingest/validate.h"

typedef val_result_t (*validator_t)(const char *, size_t, se_in_rec_t *, val_detail_t *);

static void round_trip(const se_in_rec_t *in, validator_t validate)
{
    char json[1024];
    ck_assert_int_gt(se_in_to_json(in, json, sizeof json), 0);
    se_in_rec_t back;
    val_detail_t why;
    ck_assert_msg(validate(json, strlen(json), &back, &why) == VAL_OK, "%s: %s", json, why.text);
    ck_assert_msg(memcmp(in, &back, sizeof back) == 0, "not identical after %s", json);
}

START_TEST(quote_json_should_validate_back_to_the_same_record)
{
    se_in_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = SE_IN_QUOTE;
    r.flags = SE_QUOTE_HAS_BIDASK | SE_QUOTE_HAS_LAST | SE_QUOTE_HAS_SIZES | SE_QUOTE_HAS_VOLUME;
    strcpy(r.symbol, "BTC-USD");
    r.u.quote = (se_quote_t){ 0.1 + 0.2, 100.60000000000001, 1.5, 2.0, 100.55, 12.0 };
    r.ts_source_ns = 1732400000123456789;
    round_trip(&r, val_market_data);
    r.flags = SE_QUOTE_HAS_LAST;
    r.u.quote = (se_quote_t){ 0, 0, 0, 0, 3.14159, 0 };
    r.ts_source_ns = 0;
    round_trip(&r, val_market_data);
}
END_TEST

START_TEST(fill_and_position_json_should_validate_back)
{
    se_in_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = SE_IN_FILL;
    strcpy(r.symbol, "ETH-USD");
    strcpy(r.u.fill.fill_id, "f-1");
    strcpy(r.u.fill.client_order_id, "momentum-1732400000-7");
    r.u.fill.side = SE_SIDE_SELL;
    r.u.fill.qty = 0.25;
    r.u.fill.price = 2500.5;
    round_trip(&r, val_fill); /* no order_id: optional, left out */
    strcpy(r.u.fill.order_id, "venue-9");
    r.ts_source_ns = 5;
    round_trip(&r, val_fill);
    memset(&r, 0, sizeof r);
    r.kind = SE_IN_POSITION;
    strcpy(r.symbol, "SOL-USD");
    r.u.position = (se_position_t){ -3.5, 101.25 };
    round_trip(&r, val_position);
}
END_TEST

START_TEST(json_should_refuse_a_short_buffer)
{
    se_in_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = SE_IN_QUOTE;
    strcpy(r.symbol, "BTC-USD");
    char small[8];
    ck_assert_int_lt(se_in_to_json(&r, small, sizeof small), 0);
    ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(signals_should_read_as_one_line)
{
    se_signal_rec_t s;
    memset(&s, 0, sizeof s);
    s.action = SE_ACTION_NEW;
    s.side = SE_SIDE_BUY;
    s.order_type = SE_ORDER_LIMIT;
    s.qty = 2;
    s.price = 100.25;
    strcpy(s.symbol, "BTC-USD");
    strcpy(s.client_order_id, "mm-1-7");
    char line[256];
    ck_assert_int_gt(se_signal_to_text(&s, line, sizeof line), 0);
    ck_assert_str_eq(line, "NEW BUY LIMIT 2 BTC-USD @ 100.25 id=mm-1-7");
    s.action = SE_ACTION_CANCEL;
    ck_assert_int_gt(se_signal_to_text(&s, line, sizeof line), 0);
    ck_assert_str_eq(line, "CANCEL BTC-USD id=mm-1-7");
    s.action = SE_ACTION_SNAPSHOT;
    ck_assert_int_gt(se_signal_to_text(&s, line, sizeof line), 0);
    ck_assert_str_eq(line, "SNAPSHOT? (asks riskd for positions and open orders)");
}
END_TEST

START_TEST(exec_reports_should_read_as_one_line)
{
    se_exec_rec_t e;
    memset(&e, 0, sizeof e);
    e.kind = SE_EXEC_ACK;
    e.action = SE_ACTION_NEW;
    e.side = SE_SIDE_SELL;
    e.qty = 2;
    strcpy(e.symbol, "BTC-USD");
    strcpy(e.client_order_id, "mm-1-7");
    strcpy(e.order_id, "v-3");
    char line[256];
    ck_assert_int_gt(se_exec_to_text(&e, line, sizeof line), 0);
    ck_assert_str_eq(line, "ACK SELL 2 BTC-USD id=mm-1-7 order=v-3");
    memset(&e, 0, sizeof e);
    e.kind = SE_EXEC_VENUE;
    strcpy(e.reason, "circuit_open");
    ck_assert_int_gt(se_exec_to_text(&e, line, sizeof line), 0);
    ck_assert_str_eq(line, "VENUE circuit_open");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("records");
    TCase *tc = tcase_create("records");
    tcase_add_test(tc, quote_json_should_validate_back_to_the_same_record);
    tcase_add_test(tc, fill_and_position_json_should_validate_back);
    tcase_add_test(tc, json_should_refuse_a_short_buffer);
    tcase_add_test(tc, signals_should_read_as_one_line);
    tcase_add_test(tc, exec_reports_should_read_as_one_line);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
