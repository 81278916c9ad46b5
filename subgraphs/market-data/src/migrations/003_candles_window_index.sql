-- Tickers read the last 1440 one-minute candles of every market at once: a range on
-- (interval, open_time_ms) instead of a scan of every market's whole candle history.
CREATE INDEX candles_interval_time ON candles (interval, open_time_ms);
