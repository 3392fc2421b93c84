//! Writing report rows: CSV that Excel opens with Cyrillic intact (UTF-8 with a byte
//! order mark) and .xlsx written row by row in constant memory.

use std::io::Write;

use chrono_tz::Tz;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use stimul_actors::rules::points::Points;

use super::Language;
use super::specs::{Column, ColumnKind};

/// One value of a row, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Points(Points),
    /// Epoch ms.
    Time(i64),
}

/// Tells Excel the file is UTF-8; without it Cyrillic opens as mojibake.
pub const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// A moment as the program's people read it: `2026-12-02 15:04` in its zone.
pub fn local_time(ms: i64, zone: Tz) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn heading(column: &Column, language: Language) -> &'static str {
    match language {
        Language::Ru => column.ru,
        Language::En => column.en,
    }
}

fn text_of(cell: &Cell, zone: Tz) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(text) => text.clone(),
        Cell::Int(value) => value.to_string(),
        Cell::Points(points) => points.to_string(),
        Cell::Time(ms) => local_time(*ms, zone),
    }
}

fn csv_record(fields: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = writer.write_record(fields);
    writer.into_inner().unwrap_or_default()
}

/// The byte order mark and the heading line.
pub fn csv_header(columns: &[Column], language: Language) -> Vec<u8> {
    let mut bytes = BYTE_ORDER_MARK.to_vec();
    bytes.extend(csv_record(
        columns.iter().map(|c| heading(c, language).to_string()),
    ));
    bytes
}

/// A page of rows as CSV lines.
pub fn csv_rows(rows: &[Vec<Cell>], zone: Tz) -> Vec<u8> {
    let mut bytes = Vec::new();
    for row in rows {
        bytes.extend(csv_record(row.iter().map(|cell| text_of(cell, zone))));
    }
    bytes
}

/// Excel's rows per sheet; the report goes on in a new sheet after it.
pub const SHEET_ROWS: u32 = 1_048_576;

/// An .xlsx report written row by row: rows go to a temporary file as they come
/// (constant memory), and the workbook is assembled when [`Self::finish`] writes it.
pub struct XlsxReport {
    workbook: Workbook,
    columns: &'static [Column],
    language: Language,
    zone: Tz,
    sheets: u32,
    /// The next row in the current sheet (0 is the heading).
    row: u32,
    bold: Format,
    points: Format,
}

impl XlsxReport {
    pub fn new(
        columns: &'static [Column],
        language: Language,
        zone: Tz,
    ) -> Result<Self, XlsxError> {
        let mut report = Self {
            workbook: Workbook::new(),
            columns,
            language,
            zone,
            sheets: 0,
            row: 0,
            bold: Format::new().set_bold(),
            points: Format::new().set_num_format("0.00"),
        };
        report.new_sheet()?;
        Ok(report)
    }

    fn new_sheet(&mut self) -> Result<(), XlsxError> {
        self.sheets += 1;
        let name = match self.language {
            Language::Ru => format!("Отчёт {}", self.sheets),
            Language::En => format!("Report {}", self.sheets),
        };
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        for (col, column) in self.columns.iter().enumerate() {
            let col = col as u16;
            sheet.write_string_with_format(0, col, heading(column, self.language), &self.bold)?;
            let width = match column.kind {
                ColumnKind::Text => 24.0,
                ColumnKind::Time => 17.0,
                ColumnKind::Int | ColumnKind::Points => 13.0,
            };
            sheet.set_column_width(col, width)?;
        }
        self.row = 1;
        Ok(())
    }

    fn sheet(&mut self) -> Result<&mut Worksheet, XlsxError> {
        let index = self.sheets as usize - 1;
        self.workbook.worksheet_from_index(index)
    }

    pub fn write_rows(&mut self, rows: &[Vec<Cell>]) -> Result<(), XlsxError> {
        for cells in rows {
            if self.row >= SHEET_ROWS {
                self.new_sheet()?;
            }
            let row = self.row;
            let zone = self.zone;
            let points = self.points.clone();
            let sheet = self.sheet()?;
            for (col, cell) in cells.iter().enumerate() {
                let col = col as u16;
                match cell {
                    Cell::Empty => {}
                    Cell::Text(text) => {
                        sheet.write_string(row, col, text)?;
                    }
                    // Excel keeps every number as a double; ids and counts are exact
                    // far beyond anything a program holds.
                    Cell::Int(value) => {
                        sheet.write_number(row, col, *value as f64)?;
                    }
                    // A number, so sums work in Excel; hundredths divided once here
                    // are exact to the cent for any amount below 2^53 hundredths.
                    Cell::Points(amount) => {
                        sheet.write_number_with_format(
                            row,
                            col,
                            amount.hundredths() as f64 / 100.0,
                            &points,
                        )?;
                    }
                    Cell::Time(ms) => {
                        sheet.write_string(row, col, local_time(*ms, zone))?;
                    }
                }
            }
            self.row += 1;
        }
        Ok(())
    }

    /// Assembles the workbook into `out` (which need not seek: a response body will do).
    pub fn finish<W: Write + Send>(mut self, out: W) -> Result<(), XlsxError> {
        self.workbook.save_to_writer(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::specs::ColumnKind::{Int, Points as PointsKind, Text, Time};

    static COLUMNS: [Column; 4] = [
        Column {
            name: "name",
            ru: "Имя",
            en: "Name",
            kind: Text,
        },
        Column {
            name: "n",
            ru: "Число",
            en: "Number",
            kind: Int,
        },
        Column {
            name: "amount",
            ru: "Баллы",
            en: "Points",
            kind: PointsKind,
        },
        Column {
            name: "at",
            ru: "Когда",
            en: "When",
            kind: Time,
        },
    ];

    #[test]
    fn csv_starts_with_the_byte_order_mark_and_the_headings_in_the_language() {
        let ru = csv_header(&COLUMNS, Language::Ru);
        assert!(ru.starts_with(BYTE_ORDER_MARK));
        assert_eq!(
            std::str::from_utf8(&ru[3..]).expect("in the test"),
            "Имя,Число,Баллы,Когда\r\n"
        );
        let en = csv_header(&COLUMNS, Language::En);
        assert_eq!(
            std::str::from_utf8(&en[3..]).expect("in the test"),
            "Name,Number,Points,When\r\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_writes_points_and_local_times() {
        let rows = vec![vec![
            Cell::Text("Иванов, \"старший\"".into()),
            Cell::Int(42),
            Cell::Points(Points::from_hundredths(-1250)),
            // 2026-12-02 12:04 UTC is 15:04 in Moscow.
            Cell::Time(1_796_213_040_000),
        ]];
        let text =
            String::from_utf8(csv_rows(&rows, chrono_tz::Europe::Moscow)).expect("in the test");
        assert_eq!(
            text,
            "\"Иванов, \"\"старший\"\"\",42,-12.50,2026-12-02 15:04\r\n"
        );
        let empty = csv_rows(&[vec![Cell::Empty, Cell::Empty]], chrono_tz::UTC);
        assert_eq!(empty, b",\r\n");
    }

    #[test]
    fn an_xlsx_report_is_a_zip_holding_its_rows() {
        let mut report = XlsxReport::new(&COLUMNS, Language::Ru, chrono_tz::Europe::Moscow)
            .expect("in the test");
        report
            .write_rows(&[vec![
                Cell::Text("Мария".into()),
                Cell::Int(7),
                Cell::Points(Points::from_hundredths(12345)),
                Cell::Time(1_796_213_040_000),
            ]])
            .expect("in the test");
        let mut bytes = Vec::new();
        report.finish(&mut bytes).expect("in the test");
        assert!(bytes.starts_with(b"PK"));
    }
}
