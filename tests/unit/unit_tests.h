/* unit_tests.h — tests kept in their own files, run by store_test.c's main. */
#ifndef TOPICFS_UNIT_TESTS_H
#define TOPICFS_UNIT_TESTS_H

void test_record_cache_answers_only_for_its_record(void);
void test_framing_is_parsed_formatted_and_kept(void);
void test_append_to_fills_one_partition_in_order(void);
void test_group_consume_hands_each_record_once(void);
void test_group_seek_forms_and_times(void);
void test_group_ids_and_deletion(void);
void test_groups_catch_up_after_retention(void);
void test_crc32_is_zlibs(void);
void test_group_consume_keeps_its_request_and_ranges(void);
void test_mkdir_and_rmdir_keep_their_request_with_what_they_did(void);

#endif
