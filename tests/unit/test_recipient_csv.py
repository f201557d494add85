"""Recipients with fields, from JSON entries and from CSV files of every common shape,
read as a stream."""

from __future__ import annotations

import io

import pytest

from emailsched.domain.recipient_csv import (
    CsvRecipient,
    CsvRowError,
    decode_lines,
    field_name_from_header,
    parse_recipient_csv,
)
from emailsched.domain.recipient_fields import (
    MAX_FIELDS,
    MAX_VALUE_LENGTH,
    Recipient,
    check_fields,
    fold_line_breaks,
    parse_recipient,
    parse_recipient_entries,
)
from emailsched.errors import InvalidRequest

pytestmark = pytest.mark.unit


def parsed(text: str) -> list:
    return list(parse_recipient_csv(io.StringIO(text, newline="")))


# --- JSON entries -------------------------------------------------------------------------

def test_an_entry_is_an_address_or_an_email_with_fields():
    assert parse_recipient(" a@Example.com ") == Recipient("a@example.com", {})
    recipient = parse_recipient({"email": "b@x.com", "fields": {"first_name": "B",
                                                                "timezone": "Europe/Berlin"}})
    assert recipient.fields == {"first_name": "B", "timezone": "Europe/Berlin"}


def test_numbers_become_strings_and_other_values_are_refused():
    assert check_fields({"n": 3, "x": 1.5, "s": ""}) == {"n": "3", "x": "1.5", "s": ""}
    for bad in (True, None, ["a"], {"a": 1}):
        with pytest.raises(ValueError, match="string or a number"):
            check_fields({"v": bad})


@pytest.mark.parametrize("name", ["first name", "1st", "_private", "a-b", "", "email",
                                  "unsubscribe_url", "true", "if", "x" * 65, "ü"])
def test_field_names_must_be_identifier_like_and_not_reserved(name):
    with pytest.raises(ValueError):
        check_fields({name: "v"})


def test_field_count_value_length_and_control_characters_are_limited():
    with pytest.raises(ValueError, match="more than"):
        check_fields({f"f{i}": "v" for i in range(MAX_FIELDS + 1)})
    with pytest.raises(ValueError, match="longer"):
        check_fields({"v": "x" * (MAX_VALUE_LENGTH + 1)})
    with pytest.raises(ValueError, match="in all"):
        check_fields({f"f{i}": "x" * 1_900 for i in range(10)})
    with pytest.raises(ValueError, match="control"):
        check_fields({"v": "a\x00b"})


def test_line_breaks_are_kept_in_values_and_folded_for_headers():
    assert check_fields({"v": "a\r\nb"}) == {"v": "a\r\nb"}
    assert fold_line_breaks("a \r\n\tb\nc\u2029d") == "a b c d"


def test_entries_are_named_by_position_and_duplicates_dropped_keeping_the_first():
    result = parse_recipient_entries(["a@x.com", {"email": "A@x.com", "fields": {"n": "2"}},
                                      {"email": "nope"}, 7, {"email": "c@x.com", "extra": 1}])
    assert [r.email for r in result.recipients] == ["a@x.com"]
    assert result.duplicates_removed == 1
    assert [d["field"] for d in result.invalid] == ["recipients[2]", "recipients[3]",
                                                    "recipients[4]"]


# --- CSV ----------------------------------------------------------------------------------

def test_a_plain_csv_gives_the_email_column_as_address_and_the_rest_as_fields():
    assert parsed("Email,First Name,Company\na@x.com,Ann,Acme\n") == [
        CsvRecipient(2, "a@x.com", {"first_name": "Ann", "company": "Acme"})]


def test_quoted_commas_quotes_and_line_breaks_stay_inside_their_cell_with_true_line_numbers():
    rows = parsed('email,note,city\na@x.com,"one, two","Köln"\n'
                  'b@x.com,"say ""hi""\nsecond line",Bonn\nc@x.com,,Ulm\n')
    assert rows[0].fields == {"note": "one, two", "city": "Köln"}
    assert rows[1] == CsvRecipient(3, "b@x.com", {"note": 'say "hi"\nsecond line', "city": "Bonn"})
    assert rows[2] == CsvRecipient(5, "c@x.com", {"city": "Ulm"})  # empty cell: no field


def test_a_utf8_bom_and_crlf_line_ends_from_excel_are_handled():
    data = "\ufeffemail,name\r\na@x.com,Zoë\r\n".encode()
    rows = list(parse_recipient_csv(decode_lines([data[:3], data[3:9], data[9:]])))
    assert rows == [CsvRecipient(2, "a@x.com", {"name": "Zoë"})]


def test_a_bom_left_in_decoded_text_is_ignored():
    assert parsed("\ufeffemail\na@x.com\n") == [CsvRecipient(2, "a@x.com", {})]


def test_excel_sep_line_sets_the_separator():
    assert parsed('sep=;\r\nemail;name\r\na@x.com;"A; B"\r\n') == [
        CsvRecipient(3, "a@x.com", {"name": "A; B"})]


@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_semicolon_tab_and_comma_separators_are_sniffed_from_the_header(sep):
    text = f"name{sep}email{sep}city\nAnn{sep}a@x.com{sep}Paris, FR\n".replace(
        "Paris, FR", '"Paris, FR"' if sep == "," else "Paris, FR")
    assert parsed(text) == [CsvRecipient(2, "a@x.com", {"name": "Ann", "city": "Paris, FR"})]


def test_a_single_column_file_falls_back_to_comma():
    assert parsed("email\na@x.com\nb@x.com\n") == [CsvRecipient(2, "a@x.com", {}),
                                                  CsvRecipient(3, "b@x.com", {})]


def test_without_an_email_column_a_mail_column_or_the_first_address_is_used():
    assert parsed("name,E-Mail Address\nA,a@x.com\n")[0].email == "a@x.com"
    assert parsed("name,contact\nA,a@x.com\n") == [CsvRecipient(2, "a@x.com", {"name": "A"})]


def test_bad_rows_are_errors_with_their_line_and_the_rest_go_on():
    rows = parsed("email,name\nnot-an-address,A\n\n,B\nb@x.com,B,extra\nc@x.com,C\n")
    assert [type(r) for r in rows] == [CsvRowError, CsvRowError, CsvRowError, CsvRecipient]
    assert [r.line for r in rows] == [2, 4, 5, 6]
    assert "3 cells" in rows[2].message


def test_a_short_row_has_the_missing_cells_absent_and_unnamed_columns_are_ignored():
    assert parsed("email,name,city,,\na@x.com,Ann\nb@x.com,Bo,Rom,,\n") == [
        CsvRecipient(2, "a@x.com", {"name": "Ann"}), CsvRecipient(3, "b@x.com",
                                                                  {"name": "Bo", "city": "Rom"})]


@pytest.mark.parametrize("text, message", [
    ("", "empty"), ("name,city\nA,B\n", "no column"), ("email,Name,name\na@x.com,1,2\n", "two"),
    ("email,unsubscribe_url\na@x.com,x\n", "reserved"), ("sep=;\n", "no header"),
])
def test_a_bad_header_is_an_invalid_request_on_line_one(text, message):
    with pytest.raises(InvalidRequest) as caught:
        parsed(text)
    assert caught.value.details[0]["line"] == 1 and message in caught.value.message


def test_the_parser_streams_rows_without_reading_the_whole_file():
    def lines():
        yield "email,n\n"
        for i in range(10**9):
            yield f"r{i}@x.com,{i}\n"

    rows = parse_recipient_csv(lines())
    assert [next(rows).email for _ in range(3)] == ["r0@x.com", "r1@x.com", "r2@x.com"]


@pytest.mark.parametrize("header, name", [("First Name", "first_name"), (" Zip-Code ", "zip_code"),
                                          ("2nd line", "f_2nd_line"), ("CITY", "city")])
def test_headers_become_snake_case_field_names(header, name):
    assert field_name_from_header(header) == name
