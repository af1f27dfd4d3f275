//! A model on data too large to hold: its columns read one association at a time
//! ([`ModelStream`]), and its [`Assessment`] summed as the associations come ([`Tally`]).

use std::io::BufRead;

use super::model::{Assessment, Model, Predicts};
use crate::data::{ConfusionMatrix, CsvAssociations, CsvOptions, argmax};
use crate::error::{Error, Result};

/// Data read for a model one association at a time ([`Model::read_csv_stream`]): the model's
/// input columns, as read (unscaled), in the model's order, and its targets if the file has
/// them. The streaming twin of [`super::ModelData`].
#[derive(Debug)]
pub struct ModelStream<'m, R> {
    /// The associations (targets empty when `has_targets` is false).
    pub associations: CsvAssociations<'m, R>,
    /// Whether the file has the model's target columns (or its label column).
    pub has_targets: bool,
    /// The file's columns the model does not use, in the file's order.
    pub extra_columns: Vec<String>,
}

impl Model {
    /// [`Model::read_csv_str`] one association at a time: the header is read now, each
    /// association by [`CsvAssociations::next_association`], so that memory does not grow with
    /// the number of rows.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a version 1 model; those of [`CsvAssociations::new`].
    ///
    /// # Examples
    /// ```
    /// use backprop::data::{CsvOptions, Dataset, Scaler, Scaling};
    /// use backprop::model_file::{Model, Outputs, Schema};
    /// use backprop::nn::{Activation, MlpSpec};
    /// let data = Dataset::from_csv_str("a,b,y\n1,2,3\n3,4,7\n", &CsvOptions::columns(&["y"]))?;
    /// let schema = Schema::for_data(&data, Scaler::fit(Scaling::MinMax, &data)?, Outputs::Raw)?;
    /// let model = Model::new(MlpSpec::new(&[2, 1], Activation::Identity, Activation::Identity).build()?, schema)?;
    /// let text = "id,b,a\n7,4,3\n";
    /// let mut stream = model.read_csv_stream(text.as_bytes(), &CsvOptions::columns(&[""; 0]))?;
    /// assert_eq!((stream.has_targets, &stream.extra_columns[..]), (false, &["id".to_string()][..]));
    /// let (inputs, _) = stream.associations.next_association()?.unwrap();
    /// assert_eq!(model.predict(inputs)?, model.predict_named(&[("a", 3.0), ("b", 4.0)])?);
    /// # Ok::<(), backprop::Error>(())
    /// ```
    pub fn read_csv_stream<R: BufRead>(
        &self,
        reader: R,
        options: &CsvOptions,
    ) -> Result<ModelStream<'_, R>> {
        let schema = self.schema_or_refuse()?;
        let mut associations = CsvAssociations::header_only(reader, options)?;
        let columns = schema.columns_in(associations.columns(), options);
        let known = match schema.predicts() {
            Predicts::Classes { labels, .. } if columns.has_targets => Some(&labels[..]),
            Predicts::Classes { .. } | Predicts::Columns(_) => None,
        };
        associations.select(&columns.options, known)?;
        Ok(ModelStream {
            associations,
            has_targets: columns.has_targets,
            extra_columns: columns.extra,
        })
    }

    /// An empty [`Tally`] for this model.
    pub fn tally(&self) -> Tally {
        Tally {
            errors: 0.0,
            count: 0,
            confusion: (self.schema())
                .and_then(|s| s.classes())
                .map(|labels| ConfusionMatrix::new(labels.to_vec())),
        }
    }
}

/// An [`Assessment`] summed one association at a time: `sum_t E_t` and the count, and for a
/// classifier the confusion matrix. [`Model::assess`] is a tally over a whole data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    errors: f64,
    count: usize,
    confusion: Option<ConfusionMatrix>,
}

impl Tally {
    /// Adds one association, its inputs as read (the model scales them) and its targets: its
    /// error `E_t` with the network's loss, and its actual class against the predicted one.
    ///
    /// # Errors
    /// [`Error::Shape`] for inputs or targets of the wrong width; in anomaly mode,
    /// [`Error::Anomaly`].
    pub fn add(&mut self, model: &Model, inputs: &[f64], targets: &[f64]) -> Result<()> {
        let mut x = inputs.to_vec();
        if let Some(schema) = model.schema() {
            schema.scaler().apply(&mut x)?;
        }
        let evaluation = model.net().evaluate(&x, targets)?;
        self.errors += evaluation.error();
        self.count += 1;
        if let Some(matrix) = &mut self.confusion {
            matrix.add(argmax(targets), argmax(&evaluation.output()))?;
        }
        Ok(())
    }

    /// The assessment: the mean error `(1/T) sum_t E_t`, the confusion matrix.
    ///
    /// # Errors
    /// [`Error::NoAssociations`] if nothing was added.
    pub fn finish(self) -> Result<Assessment> {
        if self.count == 0 {
            return Err(Error::NoAssociations);
        }
        Ok(Assessment {
            mean_error: self.errors / self.count as f64,
            confusion: self.confusion,
        })
    }
}
