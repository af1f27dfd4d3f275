//! Data sets and the CSV reader: shapes, one-hot labels, scaling, splits, and errors that name
//! the line, the column and its header.

use backprop::Error;
use backprop::data::{CsvOptions, Dataset, Scaling, Targets};

const DIGITS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/digits.csv");

fn read(text: &str, options: &CsvOptions) -> Result<Dataset, Error> {
    Dataset::from_csv_str(text, options)
}

fn label() -> CsvOptions {
    CsvOptions::label("label", None)
}

/// A unique path in the system's temporary directory.
fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("backprop-data-{}-{name}", std::process::id()))
}

#[test]
fn xor_data_set_is_the_tutorials_four_associations() {
    let xor = Dataset::xor();
    assert_eq!((xor.len(), xor.n_inputs(), xor.n_targets()), (4, 2, 1));
    // the tutorial's code example: (1,1)->0, (1,0)->1, (0,1)->1, (0,0)->0
    let expected = [
        ([1.0, 1.0], 0.0),
        ([1.0, 0.0], 1.0),
        ([0.0, 1.0], 1.0),
        ([0.0, 0.0], 0.0),
    ];
    for (t, (x, y)) in expected.iter().enumerate() {
        assert_eq!(xor.association(t).unwrap(), (&x[..], &[*y][..]));
    }
    assert_eq!(xor.classes(), None);
}

#[test]
fn digits_file_gives_1797_associations_of_64_scaled_pixels_and_10_one_hot_classes() {
    let options = CsvOptions::label("label", Some(10)).with_scaling(Scaling::Divide(16.0));
    let digits = Dataset::from_csv_path(DIGITS, &options).unwrap();
    assert_eq!(digits.len(), 1797);
    assert_eq!((digits.n_inputs(), digits.n_targets()), (64, 10));
    assert_eq!(digits.classes(), Some(10));
    assert_eq!(digits.input_names()[0], "p0");
    assert_eq!(digits.input_names()[63], "p63");
    assert_eq!(digits.target_names()[3], "label=3");
    // line 2 of the file: 0,0,5,13,9,1,0,0,... with label 0
    let (x, y) = digits.association(0).unwrap();
    assert_eq!(&x[..5], &[0.0, 0.0, 5.0 / 16.0, 13.0 / 16.0, 9.0 / 16.0]);
    assert_eq!(y, &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    assert!(digits.inputs().iter().all(|&p| (0.0..=1.0).contains(&p)));
    // class counts, counted from the file with awk (see examples/data/README.md)
    let mut counts = [0usize; 10];
    for t in 0..digits.len() {
        counts[digits.label(t).unwrap().unwrap()] += 1;
    }
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
}

#[test]
fn target_columns_are_taken_in_the_order_given_and_the_rest_are_inputs() {
    let text = "a,y1,b,y2\n1,10,2,20\n3,30,4,40\n";
    let data = read(text, &CsvOptions::columns(&["y2", "y1"])).unwrap();
    assert_eq!(data.input_names(), ["a", "b"]);
    assert_eq!(data.target_names(), ["y2", "y1"]);
    assert_eq!(data.inputs(), [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(data.targets(), [20.0, 10.0, 40.0, 30.0]);
    assert_eq!(data.classes(), None);
    assert_eq!(data.label(0).unwrap(), None);
}

#[test]
fn integer_labels_are_the_distinct_values_sorted_as_numbers() {
    // 2, 0 and 2.0: two classes, "0" then "2" (2.0 is the integer 2); 10 sorts after 9 as a
    // number (as text it would come first)
    let data = read("x,label\n0.5,2\n0.25,0\n1,2.0\n", &label()).unwrap();
    assert_eq!(data.class_labels().unwrap(), ["0", "2"]);
    assert_eq!(data.targets(), [0., 1., 1., 0., 0., 1.]);
    assert_eq!(data.label(2).unwrap(), Some(1));
    assert_eq!(data.label_column(), Some("label"));
    let data = read("x,label\n1,10\n1,9\n1,-1\n", &label()).unwrap();
    assert_eq!(data.class_labels().unwrap(), ["-1", "9", "10"]);
    assert_eq!(data.target_names(), ["label=-1", "label=9", "label=10"]);
}

#[test]
fn text_labels_are_the_distinct_values_sorted_as_text() {
    // one label that is not an integer makes every label text: "10" < "9" < "setosa" by bytes
    let text = "x,species\n1,setosa\n2,9\n3,10\n4,setosa\n5,\"a, b\"\n";
    let data = read(text, &CsvOptions::label("species", None)).unwrap();
    assert_eq!(data.class_labels().unwrap(), ["10", "9", "a, b", "setosa"]);
    let classes: Vec<usize> = (0..data.len())
        .map(|t| data.label(t).unwrap().unwrap())
        .collect();
    assert_eq!(classes, [3, 1, 0, 3, 2]);
    assert_eq!(data.n_targets(), 4);
}

#[test]
fn label_column_with_one_class_only_is_refused() {
    for (text, found) in [
        ("x,species\n1,setosa\n2,setosa\n", vec!["setosa"]),
        ("x,label\n1,3\n2,3.0\n", vec!["3"]),
    ] {
        let err = read(
            text,
            &CsvOptions::label(text[2..].split('\n').next().unwrap(), None),
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::TooFewClasses {
                column: text[2..].split('\n').next().unwrap().into(),
                found: found.iter().map(|s| s.to_string()).collect(),
            }
        );
    }
    let err = read("x,species\n1,setosa\n", &CsvOptions::label("species", None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "label column \"species\" has 1 class (setosa): at least 2 are needed to classify"
    );
}

#[test]
fn labels_from_a_known_list_keep_its_order_and_refuse_a_stranger() {
    let known = ["virginica", "setosa", "versicolor"];
    let options = CsvOptions::classes("species", &known);
    // one class present is enough when the classes are known (a small file to predict on)
    let data = read("x,species\n1,setosa\n2,setosa\n", &options).unwrap();
    assert_eq!(data.class_labels().unwrap(), known);
    assert_eq!(data.targets(), [0., 1., 0., 0., 1., 0.]);
    let err = read("x,species\n1,setosa\n2,daisy\n", &options).unwrap_err();
    assert_eq!(
        err,
        Error::UnknownClass {
            line: 3,
            column: 2,
            name: "species".into(),
            label: "daisy".into(),
            known: known.iter().map(|s| s.to_string()).collect(),
        }
    );
    assert_eq!(
        err.to_string(),
        "line 3, column 2 (species): class \"daisy\" is not one of the model's classes (virginica, setosa, versicolor)"
    );
    // an integer label matches its shortest form
    let data = read("x,y\n1,1.0\n", &CsvOptions::classes("y", &["0", "1"])).unwrap();
    assert_eq!(data.targets(), [0., 1.]);
    // a list that is too short, has a duplicate or an empty class is refused before reading
    for (labels, reason) in [
        (&[][..], "0 classes (): at least 2 are needed"),
        (&["a"][..], "1 classes (a): at least 2 are needed"),
        (&["a", "b", "a"][..], "classes 0 and 2 are both \"a\""),
        (&["a", ""][..], "class 1 is empty text"),
    ] {
        let err = read("x,y\n1,a\n", &CsvOptions::classes("y", labels)).unwrap_err();
        assert_eq!(err.to_string(), format!("invalid classes: {reason}"));
    }
}

#[test]
fn inputs_by_name_are_read_in_the_order_given_and_other_columns_ignored() {
    let text = "id,b,species,a\nrow-1,2,setosa,1\nrow-2,4,virginica,3\n";
    let options = CsvOptions::classes("species", &["setosa", "virginica"]).with_inputs(&["a", "b"]);
    let data = read(text, &options).unwrap();
    assert_eq!(data.input_names(), ["a", "b"]);
    assert_eq!(data.inputs(), [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(data.targets(), [1.0, 0.0, 0.0, 1.0]);
    let err = read(text, &CsvOptions::columns(&["b"]).with_inputs(&["a", "c"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no column named \"c\": the columns are id, b, species, a"
    );
    let err = read(text, &CsvOptions::columns(&["b"]).with_inputs(&["a", "b"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid inputs: column \"b\" is listed twice, or is also a target"
    );
    assert_eq!(
        Dataset::csv_header(text).unwrap(),
        ["id", "b", "species", "a"]
    );
}

#[test]
fn quoted_cells_crlf_line_ends_a_byte_order_mark_and_blank_lines_are_read() {
    let text = "\u{feff}\"a\",\"b, with comma\",\"say \"\"y\"\"\"\r\n\r\n\"1.5\", 2 ,3\r\n";
    let data = read(text, &CsvOptions::columns(&["say \"y\""])).unwrap();
    assert_eq!(data.input_names(), ["a", "b, with comma"]);
    assert_eq!(data.inputs(), [1.5, 2.0]);
    assert_eq!(data.targets(), [3.0]);
}

#[test]
fn empty_text_is_refused_as_having_no_header() {
    for text in ["", "\n\n  \n"] {
        let err = read(text, &label()).unwrap_err();
        assert_eq!(err, Error::CsvEmpty);
        assert_eq!(
            err.to_string(),
            "the csv data is empty: a header row naming the columns is expected"
        );
    }
}

#[test]
fn header_without_rows_is_refused() {
    let err = read("\nx,label\n", &label()).unwrap_err();
    assert_eq!(err, Error::CsvNoRows { header_line: 2 });
    assert_eq!(
        err.to_string(),
        "the csv data has a header row (line 2) but no data rows"
    );
}

#[test]
fn ragged_row_names_its_line_and_both_widths() {
    // 65 columns like the digits; line 7 (after a blank line 4) lacks one cell
    let header: Vec<String> = (0..64)
        .map(|i| format!("p{i}"))
        .chain(["label".into()])
        .collect();
    let full = vec!["0"; 65].join(",");
    let short = vec!["0"; 64].join(",");
    let text = [
        header.join(","),
        full.clone(),
        full.clone(),
        String::new(),
        full.clone(),
        full.clone(),
        short,
        full,
    ]
    .join("\n");
    let err = read(&text, &label()).unwrap_err();
    assert_eq!(
        err,
        Error::CsvRagged {
            line: 7,
            expected: 65,
            got: 64
        }
    );
    assert_eq!(err.to_string(), "line 7: expected 65 cells, got 64");
}

#[test]
fn non_numeric_cell_names_line_column_and_header() {
    let mut lines = vec!["pixel_0,pixel_1,pixel_2,label".to_string()];
    lines.extend((0..10).map(|_| "1,2,3,4".to_string()));
    lines.push("1,2,abc,4".into()); // line 12
    let err = read(&lines.join("\n"), &label()).unwrap_err();
    assert_eq!(
        err,
        Error::CsvCell {
            line: 12,
            column: 3,
            name: "pixel_2".into(),
            reason: "\"abc\" is not a number".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "line 12, column 3 (pixel_2): \"abc\" is not a number"
    );
}

#[test]
fn empty_cell_is_not_a_number() {
    let err = read("a,b,label\n1,,0\n", &label()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2, column 2 (b): \"\" is not a number"
    );
}

#[test]
fn nan_and_infinite_cells_are_refused() {
    for (cell, shown) in [
        ("NaN", "NaN"),
        ("inf", "inf"),
        ("-infinity", "-infinity"),
        ("1e999", "1e999"),
    ] {
        let err = read(
            &format!("a,y\n1,2\n{cell},3\n"),
            &CsvOptions::columns(&["y"]),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::CsvCell {
                    line: 3,
                    column: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("line 3, column 1 (a): \"{shown}\" is not a finite number")
        );
    }
    // in a target column too
    let err = read("a,y\n1,nan\n", &CsvOptions::columns(&["y"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2, column 2 (y): \"nan\" is not a finite number"
    );
}

#[test]
fn missing_label_column_lists_the_columns_there_are() {
    let err = read("p0,p1,digit\n1,2,3\n", &label()).unwrap_err();
    assert_eq!(
        err,
        Error::CsvMissingColumn {
            column: "label".into(),
            available: vec!["p0".into(), "p1".into(), "digit".into()]
        }
    );
    assert_eq!(
        err.to_string(),
        "no column named \"label\": the columns are p0, p1, digit"
    );
    let err = read("a,b\n1,2\n", &CsvOptions::columns(&["b", "c"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no column named \"c\": the columns are a, b"
    );
}

#[test]
fn label_that_is_not_a_non_negative_integer_is_refused_when_classes_are_counted() {
    // with a number of classes given, labels are the integers 0..k (any text when it is not)
    for cell in ["3.5", "-1", "two", "NaN", ""] {
        let options = CsvOptions::label("label", Some(4));
        let err = read(&format!("x,label\n1,0\n1,{cell}\n"), &options).unwrap_err();
        assert!(matches!(
            err,
            Error::CsvCell {
                line: 3,
                column: 2,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            format!(
                "line 3, column 2 (label): {cell:?} is not a class label (a non-negative integer)"
            )
        );
    }
}

#[test]
fn label_at_or_past_the_number_of_classes_is_refused() {
    let err = read(
        "x,label\n1,9\n1,10\n",
        &CsvOptions::label("label", Some(10)),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 3, column 2 (label): class 10 is out of range: there are 10 classes (0 to 9)"
    );
    // without a declared number, the distinct labels past the limit are refused before any
    // one-hot is made
    let mut text = String::from("x,label\n");
    for k in 0..=65_536 {
        text.push_str(&format!("1,c{k}\n"));
    }
    let err = read(&text, &label()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 65538, column 2 (label): \"c65536\" would be class 65537, over the limit of 65536 classes"
    );
}

#[test]
fn duplicate_header_names_are_refused() {
    let err = read("a,b,a\n1,2,3\n", &CsvOptions::columns(&["b"])).unwrap_err();
    assert_eq!(
        err,
        Error::CsvDuplicateColumn {
            name: "a".into(),
            first: 1,
            second: 3
        }
    );
    assert_eq!(err.to_string(), "columns 1 and 3 are both named \"a\"");
}

#[test]
fn unclosed_quote_is_refused_with_its_line() {
    let err = read("a,y\n\"1,2\n", &CsvOptions::columns(&["y"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid csv file: line 2: a quoted cell is not closed (a cell cannot span lines)"
    );
    let err = read("a,y\n\"1\"x,2\n", &CsvOptions::columns(&["y"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid csv file: line 2: text follows the closing quote of a cell"
    );
}

#[test]
fn options_that_leave_no_input_or_no_target_are_refused() {
    let err = read("a,b\n1,2\n", &CsvOptions::columns(&["a", "b"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid targets: every column is a target: no input column is left"
    );
    // no target column at all is data to predict on: every column an input
    let none: [&str; 0] = [];
    let data = read("a,b\n1,2\n", &CsvOptions::columns(&none)).unwrap();
    assert_eq!((data.n_inputs(), data.n_targets()), (2, 0));
    assert_eq!(data.association(0).unwrap(), (&[1.0, 2.0][..], &[][..]));
    let err = read("a,b\n1,2\n", &CsvOptions::columns(&["b", "b"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid targets: column \"b\" is listed twice"
    );
    let err = read("a,b\n1,0\n", &CsvOptions::label("b", Some(0))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid targets: a label needs at least 2 classes, got 0"
    );
    let options = CsvOptions::label("b", None).with_scaling(Scaling::Divide(0.0));
    let err = read("a,b\n1,0\n", &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid scaling: the divisor must be a finite, non-zero number, got 0"
    );
}

#[test]
fn min_max_scaling_maps_each_input_column_onto_0_to_1() {
    let options = CsvOptions::columns(&["y"]).with_scaling(Scaling::MinMax);
    let data = read("a,b,y\n2,5,10\n4,5,20\n6,5,30\n", &options).unwrap();
    // a: (x - 2) / 4; b is constant and becomes 0; targets are not scaled
    assert_eq!(data.inputs(), [0.0, 0.0, 0.5, 0.0, 1.0, 0.0]);
    assert_eq!(data.targets(), [10.0, 20.0, 30.0]);
}

#[test]
fn standardized_columns_have_mean_0_and_variance_1() {
    let options = CsvOptions::columns(&["y"]).with_scaling(Scaling::Standardize);
    let data = read("a,b,y\n1,7,0\n2,7,0\n3,7,0\n10,7,0\n", &options).unwrap();
    let a: Vec<f64> = (0..4).map(|t| data.association(t).unwrap().0[0]).collect();
    let mean = a.iter().sum::<f64>() / 4.0;
    let var = a.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 4.0;
    assert!(mean.abs() < 1e-15, "{mean}");
    assert!((var - 1.0).abs() < 1e-15, "{var}");
    // a: mean 4, population sd sqrt((9 + 4 + 1 + 36) / 4) = sqrt(12.5); 10 -> 6 / sqrt(12.5)
    assert!((a[3] - 6.0 / 12.5f64.sqrt()).abs() < 1e-15);
    // the constant column becomes 0
    assert!((0..4).all(|t| data.association(t).unwrap().0[1] == 0.0));
}

#[test]
fn split_is_a_seeded_shuffle_into_two_parts_that_together_hold_every_association() {
    let inputs: Vec<f64> = (0..10).map(f64::from).collect();
    let targets: Vec<f64> = (0..10).map(|t| f64::from(t) * 100.0).collect();
    let data = Dataset::new(inputs, targets, 1, 1).unwrap();
    let (train, test) = data.split(0.7, 42).unwrap();
    assert_eq!((train.len(), test.len()), (7, 3));
    let mut seen: Vec<f64> = train
        .inputs()
        .iter()
        .chain(test.inputs())
        .copied()
        .collect();
    for t in 0..train.len() {
        let (x, y) = train.association(t).unwrap();
        assert_eq!(y[0], x[0] * 100.0, "associations stay whole");
    }
    seen.sort_by(f64::total_cmp);
    assert_eq!(seen, (0..10).map(f64::from).collect::<Vec<_>>());
    // the same seed gives the same split; the order is shuffled, not kept
    assert_eq!(data.split(0.7, 42).unwrap(), (train.clone(), test));
    let orders: Vec<Vec<f64>> = (0..5)
        .map(|seed| data.split(1.0, seed).unwrap().0.inputs().to_vec())
        .collect();
    assert!(orders.iter().any(|o| o != data.inputs()));
    assert!(orders.windows(2).any(|w| w[0] != w[1]));
    let (all, none) = data.split(1.0, 0).unwrap();
    assert_eq!((all.len(), none.len()), (10, 0));
    assert!(none.is_empty());
}

#[test]
fn split_fraction_outside_0_to_1_is_refused() {
    for fraction in [-0.1, 1.5, f64::NAN] {
        let err = Dataset::xor().split(fraction, 0).unwrap_err();
        assert!(matches!(err, Error::InvalidOption { .. }));
        assert_eq!(
            err.to_string(),
            format!("invalid split fraction: must be between 0 and 1, got {fraction}")
        );
    }
}

#[test]
fn association_past_the_end_is_out_of_range() {
    let err = Dataset::xor().association(4).unwrap_err();
    assert_eq!(
        err.to_string(),
        "association 4 is out of range: there are 4"
    );
}

#[test]
fn new_data_set_checks_widths_shapes_and_values() {
    let err = Dataset::new(vec![1.0, 2.0, 3.0], vec![1.0], 2, 1).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }));
    let err = Dataset::new(vec![1.0, 2.0], vec![1.0, 2.0], 1, 1).unwrap();
    assert_eq!(err.len(), 2);
    let err = Dataset::new(vec![1.0, f64::INFINITY], vec![1.0, 2.0], 1, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input 0 of association 1 must be a finite number, got inf"
    );
    let err = Dataset::new(vec![], vec![], 0, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid data set: needs at least 1 input and 1 target per association, got 0 and 1"
    );
}

#[test]
fn text_over_the_byte_limit_is_refused() {
    let options = label().with_max_bytes(10);
    let err = read("x,label\n1,0\n", &options).unwrap_err();
    assert_eq!(
        err,
        Error::TooLarge {
            what: "the csv data".into(),
            size: 12,
            unit: "bytes",
            limit: 10
        }
    );
    assert_eq!(
        err.to_string(),
        "the csv data: 12 bytes, over the limit of 10"
    );
}

#[test]
fn huge_file_is_refused_by_its_size_before_it_is_read() {
    // a sparse file that declares 1 TiB: reading or allocating it would not end well
    let path = temp_path("huge.csv");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(1 << 40).unwrap();
    drop(file);
    let err = Dataset::from_csv_path(&path, &label()).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        err,
        Error::TooLarge {
            what: format!("the file {:?}", path.display().to_string()),
            size: 1 << 40,
            unit: "bytes",
            limit: CsvOptions::DEFAULT_MAX_BYTES
        }
    );
}

#[test]
fn rows_over_the_row_limit_are_refused() {
    let err = read("x,label\n1,0\n2,1\n3,0\n", &label().with_max_rows(2)).unwrap_err();
    assert_eq!(err.to_string(), "the csv data: 3 rows, over the limit of 2");
}

#[test]
fn one_hot_targets_over_the_value_limit_are_refused_before_they_are_made() {
    let mut options = CsvOptions::label("label", Some(65536));
    options.max_values = 1000;
    let err = read("x,label\n1,0\n2,1\n", &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the data set (2 rows of 65537 inputs and targets): 131074 numbers, over the limit of 1000"
    );
}

#[test]
fn missing_file_and_non_utf8_file_are_io_errors_naming_the_file() {
    let path = temp_path("does-not-exist.csv");
    let err = Dataset::from_csv_path(&path, &label()).unwrap_err();
    match &err {
        Error::Io { path: p, .. } => assert_eq!(p, &path.display().to_string()),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert!(err.to_string().starts_with(&path.display().to_string()));

    let path = temp_path("latin1.csv");
    std::fs::write(&path, b"x,label\n1,0\n\xe9,1\n").unwrap();
    let err = Dataset::from_csv_path(&path, &label()).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        err,
        Error::Io {
            path: path.display().to_string(),
            reason: "not UTF-8 text (invalid byte at offset 12)".into()
        }
    );
}

#[test]
fn targets_enum_is_what_the_constructors_build() {
    assert_eq!(
        CsvOptions::label("label", Some(10)).targets,
        Targets::Label {
            column: "label".into(),
            classes: Some(10)
        }
    );
    assert_eq!(
        CsvOptions::columns(&["y"]).targets,
        Targets::Columns(vec!["y".into()])
    );
}

#[test]
fn scaler_fitted_on_training_data_is_applied_unchanged_to_other_data() {
    use backprop::data::{Scaler, ScalerKind};
    // column 0: 1, 3 (mean 2, population sd 1); column 1 constant 5 (sd 0: scale 1)
    let train = Dataset::new(vec![1.0, 5.0, 3.0, 5.0], vec![0.0, 1.0], 2, 1).unwrap();
    let scaler = Scaler::fit(Scaling::Standardize, &train).unwrap();
    assert_eq!(scaler.kind(), ScalerKind::Standard);
    assert_eq!(scaler.center(), [2.0, 5.0]);
    assert_eq!(scaler.scale(), [1.0, 1.0]);
    // data of another range is not refitted: (7 - 2) / 1 = 5, (6 - 5) / 1 = 1
    let other = Dataset::new(vec![7.0, 6.0], vec![0.0], 2, 1).unwrap();
    assert_eq!(other.scaled(&scaler).unwrap().inputs(), [5.0, 1.0]);
    // min-max: center the minimum, scale the range; a constant column maps onto 0
    let scaler = Scaler::fit(Scaling::MinMax, &train).unwrap();
    assert_eq!(
        (scaler.center(), scaler.scale()),
        (&[1.0, 5.0][..], &[2.0, 1.0][..])
    );
    assert_eq!(
        train.scaled(&scaler).unwrap().inputs(),
        [0.0, 0.0, 1.0, 0.0]
    );
    // the same numbers as the reader's own scaling of the whole file
    let read_scaled = read(
        "a,b,y\n1,5,0\n3,5,1\n",
        &CsvOptions::columns(&["y"]).with_scaling(Scaling::MinMax),
    )
    .unwrap();
    assert_eq!(
        read_scaled.inputs(),
        train.scaled(&scaler).unwrap().inputs()
    );
    // a row of the wrong width, a scaler of the wrong width
    let err = scaler.apply(&mut [1.0]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Shape {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{err}"
    );
    let narrow = Scaler::identity(1);
    assert!(matches!(
        train.scaled(&narrow),
        Err(Error::Shape {
            expected: 2,
            got: 1,
            ..
        })
    ));
}

#[test]
fn scaler_from_parts_refuses_zero_or_non_finite_numbers_and_a_kind_they_do_not_fit() {
    use backprop::data::{Scaler, ScalerKind};
    let cases = [
        (
            ScalerKind::Standard,
            vec![0.0, 1.0],
            vec![1.0],
            "2 centers but 1 scales: one of each per input column",
        ),
        (
            ScalerKind::Standard,
            vec![],
            vec![],
            "no columns: at least 1 is needed",
        ),
        (
            ScalerKind::Standard,
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            "scale[1] is 0: it must be finite and non-zero",
        ),
        (
            ScalerKind::MinMax,
            vec![0.0],
            vec![f64::INFINITY],
            "scale[0] is inf: it must be finite and non-zero",
        ),
        (
            ScalerKind::MinMax,
            vec![f64::NAN],
            vec![1.0],
            "center[0] is NaN: it must be finite",
        ),
        (
            ScalerKind::None,
            vec![0.0],
            vec![2.0],
            "column 0: center 0 and scale 2 do not fit kind none (none: 0 and 1; divide: 0 and the same divisor for every column)",
        ),
        (
            ScalerKind::Divide,
            vec![0.0, 0.0],
            vec![16.0, 8.0],
            "column 1: center 0 and scale 8 do not fit kind divide (none: 0 and 1; divide: 0 and the same divisor for every column)",
        ),
    ];
    for (kind, center, scale, reason) in cases {
        let err = Scaler::from_parts(kind, center, scale).unwrap_err();
        assert_eq!(err.to_string(), format!("invalid scaler: {reason}"));
    }
    // a range beyond f64 cannot be a scale
    let huge = Dataset::new(vec![-1e308, 1e308], vec![0.0, 0.0], 1, 1).unwrap();
    let err = Scaler::fit(Scaling::MinMax, &huge).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the fitted minmax scale of input column 0 must be a finite number, got inf"
    );
}
