"""inputs/sources"""
