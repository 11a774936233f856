"""Build the recorded Kenneth French library samples in this folder (run once; the
zips are committed). ``python tests/data/french/build.py``

Each zip holds one CSV laid out as the library's real files are (see
``eventstudy/inputs/sources/french.py``): CRLF lines, a description, a blank line, a
header whose first cell is empty, ``YYYYMMDD`` or ``YYYYMM`` rows in percent, for
monthly files a blank line and an annual table, and a copyright line. The values are
seeded random numbers (not the library's), on XNYS sessions (US), XTKS sessions
(Japan) or months; the zips are byte-for-byte reproducible (fixed member time).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from eventstudy.inputs.calendar import get_sessions

HERE = Path(__file__).resolve().parent
STAMP = (2025, 1, 31, 12, 0, 0)
US_DAILY = ("This file was created by CMPT_ME_BEME_RETS_DAILY using the 202412 CRSP "
            "database.")
TBILL_DAILY = ("The Tbill return is the simple daily rate that, over the number of "
               "trading days\r\nin the month, compounds to 1-month TBill rate from "
               "Ibbotson and Associates Inc.")
COPYRIGHT = "Copyright 2025 Eugene F. Fama and Kenneth R. French"


def _rows(keys: list[str], cols: int, rng: np.random.Generator, scale: float,
          rf: float | None, fmt: str = "{:8.2f}") -> list[str]:
    out = []
    for k in keys:
        vals = [fmt.format(v) for v in rng.normal(0.0, scale, cols)]
        if rf is not None:
            vals.append(f"{rf:9.3f}")
        out.append(k + "," + ",".join(vals))
    return out


def _write(zip_name: str, member: str, lines: list[str]) -> None:
    text = "\r\n".join(lines) + "\r\n"
    info = zipfile.ZipInfo(member, date_time=STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(HERE / zip_name, "w") as zf:
        zf.writestr(info, text.encode("ascii"))


def main() -> None:
    rng = np.random.default_rng(20250131)
    xnys = get_sessions("XNYS", "2023-01-03", "2024-12-31").dates
    days = [d.strftime("%Y%m%d") for d in xnys]
    months = [f"{y}{m:02d}" for y in range(2019, 2025) for m in range(1, 13)]
    years = [f"  {y}" for y in range(2019, 2025)]

    _write("F-F_Research_Data_Factors_daily_CSV.zip",
           "F-F_Research_Data_Factors_daily.CSV",
           [US_DAILY, TBILL_DAILY, "", ",Mkt-RF,SMB,HML,RF",
            *_rows(days, 3, rng, 0.8, 0.021), "", COPYRIGHT])
    _write("F-F_Research_Data_5_Factors_2x3_daily_CSV.zip",
           "F-F_Research_Data_5_Factors_2x3_daily.CSV",
           ["This file was created by CMPT_ME_BEME_OP_INV_RETS_DAILY using the 202412 "
            "CRSP database.", TBILL_DAILY, "", ",Mkt-RF,SMB,HML,RMW,CMA,RF",
            *_rows(days, 5, rng, 0.6, 0.021), "", COPYRIGHT])
    _write("F-F_Momentum_Factor_daily_CSV.zip", "F-F_Momentum_Factor_daily.CSV",
           ["This file was created by CMPT_ME_PRIOR_RETS_DAILY using the 202412 CRSP "
            "database.",
            "It contains a momentum factor, constructed from six value-weight "
            "portfolios formed using",
            "independent sorts on size and prior return of NYSE, AMEX, and NASDAQ "
            "stocks.",
            "Missing data are indicated by -99.99 or -999.", "", ",Mom   ",
            *_rows(days[5:], 1, rng, 0.9, None), "", COPYRIGHT])
    _write("F-F_Research_Data_Factors_CSV.zip", "F-F_Research_Data_Factors.CSV",
           ["This file was created by CMPT_ME_BEME_RETS using the 202412 CRSP "
            "database.", "The 1-month TBill return is from Ibbotson and Associates, "
            "Inc.", "", ",Mkt-RF,SMB,HML,RF",
            *_rows(months, 3, rng, 4.0, 0.40), "",
            " Annual Factors: January-December ", ",Mkt-RF,SMB,HML,RF",
            *_rows(years, 3, rng, 15.0, 4.5), "", COPYRIGHT])
    _write("F-F_Momentum_Factor_CSV.zip", "F-F_Momentum_Factor.CSV",
           ["This file was created by CMPT_ME_PRIOR_RETS using the 202412 CRSP "
            "database.",
            "It contains a momentum factor, constructed from six value-weight "
            "portfolios formed using independent sorts on size and prior return of "
            "NYSE, AMEX, and NASDAQ stocks.",
            "Missing data are indicated by -99.99 or -999.", "", ",Mom   ",
            *_rows(months, 1, rng, 4.5, None), "", "Annual Factors:", "",
            ",Mom   ", *_rows(years, 1, rng, 15.0, None), "", COPYRIGHT])
    xtks = get_sessions("XTKS", "2024-01-04", "2024-03-29").dates
    _write("Japan_3_Factors_Daily_CSV.zip", "Japan_3_Factors_Daily.csv",
           ["This file was created using the 202412 Bloomberg database.",
            "Missing data are indicated by -99.99.", "", ",Mkt-RF,SMB,HML,RF",
            *_rows([d.strftime("%Y%m%d") for d in xtks], 3, rng, 0.9, 0.021), "",
            COPYRIGHT])
    apxj = ["199011,   -99.99"] + _rows(months[:24], 1, rng, 3.0, None)
    _write("Asia_Pacific_ex_Japan_MOM_Factor_CSV.zip",
           "Asia_Pacific_ex_Japan_MOM_Factor.csv",
           ["This file was created using the 202412 Bloomberg database.",
            "Missing data are indicated by -99.99.", "", ",WML", *apxj, "",
            " Annual Factors: January-December ", ",WML",
            *_rows(years[:2], 1, rng, 10.0, None), "", COPYRIGHT])


if __name__ == "__main__":
    main()
