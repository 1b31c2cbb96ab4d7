mod shown;
mod validation;
